import assert from "node:assert/strict";
import { selectBackend } from "../../core/backend.ts";
import { applyDomainToAll, DOMAINS } from "../../datasets/domains.ts";
import { loadMnist } from "../../datasets/mnist.ts";
import { classifierAccuracy } from "../../metrics/features/classifier.ts";
import {
  checkedClassifier,
  DIGIT_SHA256,
  loadDomainClassifiers,
} from "../../metrics/domains/classifiers.ts";
import digitWeights from "../../metrics/domains/digit.weights.json" with { type: "json" };

// wasm: the backend the classifiers were trained and measured on (deterministic).
await selectBackend("wasm");
const mnist = await loadMnist();
const N = 1000;

Deno.test("domain classifiers: every domain keeps the digit readable, and is recognised", async () => {
  // The digit reader on the first 1000 test digits through each domain: the domains are
  // label-preserving as far as a frozen reader can tell, and the domain namer tells them apart.
  const { digit, domain } = loadDomainClassifiers();
  for (let k = 0; k < DOMAINS.length; k++) {
    const images = applyDomainToAll(DOMAINS[k], mnist.test.images, N);
    const readable = await classifierAccuracy(digit, images, mnist.test.labels, N);
    const named = await classifierAccuracy(domain, images, new Uint8Array(N).fill(k), N);
    assert.ok(readable > 0.94, `${DOMAINS[k].name}: digit accuracy ${readable}`);
    assert.ok(named > 0.92, `${DOMAINS[k].name}: domain accuracy ${named}`);
  }
  digit.net?.dispose();
  domain.net?.dispose();
});

Deno.test("domain classifiers: weights whose sha256 differs are refused", () => {
  const file = structuredClone(digitWeights) as { data: string };
  const data = file.data;
  file.data = (data[0] === "A" ? "B" : "A") + data.slice(1);
  assert.throws(
    () => checkedClassifier(file, "digit", DIGIT_SHA256),
    /metrics\/domains\/digit\.weights\.json: sha256 [0-9a-f]{64} differs from the committed/,
  );
  const net = checkedClassifier(digitWeights, "digit", DIGIT_SHA256);
  assert.equal(net.classes, 10);
  net.net?.dispose();
});
