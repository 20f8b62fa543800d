import assert from "node:assert/strict";
import { selectBackend } from "../../core/backend.ts";
import { Stream } from "../../core/rng.ts";
import { applyDomain, DOMAINS } from "../../datasets/domains.ts";
import { loadMnist } from "../../datasets/mnist.ts";
import { loadDomainClassifiers } from "../../metrics/domains/classifiers.ts";
import { captionDiversity, captionScores, meanPairwiseDistance } from "../../metrics/captions.ts";

await selectBackend("cpu");

Deno.test("caption diversity: mean pairwise RMS distance, closed forms", () => {
  // Constant images 0, ½, 1: pair distances ½, 1, ½.
  const three = Float32Array.from([0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1]);
  assert.ok(Math.abs(meanPairwiseDistance(three, 3, 4) - 2 / 3) < 1e-7);
  // One pixel of four differs by 1: √(1/4).
  assert.ok(
    Math.abs(meanPairwiseDistance(Float32Array.from([0, 0, 0, 1, 0, 0, 0, 0]), 2, 4) - 0.5) < 1e-7,
  );
  // A group that always gives the same image has diversity 0; averaged with one at 1.
  const groups = Float32Array.from([0, 0, 1, 1, 0.25, 0.25, 0.25, 0.25]);
  assert.equal(captionDiversity(groups, 2, 2, 2), 0.5);
  assert.throws(() => meanPairwiseDistance(three, 1, 12), /need ≥ 2 images/);
});

const mnist = await loadMnist();
const classifiers = loadDomainClassifiers();
const N = 1000;
const D = 784;

/** N test digits (a seeded choice) through balanced domains, in [0, 1]. */
function captioned() {
  const stream = Stream.derive(4, "captions-test");
  const rows = stream.permutation(mnist.test.count).subarray(0, N);
  const digits = Uint8Array.from(rows, (r) => mnist.test.labels[r]);
  const domains = Uint8Array.from(stream.permutation(N), (k) => k % DOMAINS.length);
  const real = new Float32Array(N * D);
  rows.forEach((r, i) => {
    const image = applyDomain(DOMAINS[domains[i]], mnist.test.images.subarray(r * D, (r + 1) * D));
    for (let k = 0; k < D; k++) real[i * D + k] = image[k] / 255;
  });
  return { digits, domains, real, stream };
}

Deno.test("caption scores: the oracle reaches the classifiers' accuracy; ignoring the caption gives chance", async () => {
  const { digits, domains, real, stream } = captioned();
  const oracle = await captionScores(
    { count: N, generated: real, real, digits, domains },
    classifiers,
  );
  assert.deepEqual(
    { digit: oracle.digitAccuracy, domain: oracle.domainAccuracy, both: oracle.matchAccuracy },
    {
      digit: oracle.real.digitAccuracy,
      domain: oracle.real.domainAccuracy,
      both: oracle.real.matchAccuracy,
    },
  );
  // The committed classifiers read 97.1% of digits and 97.2% of domains over every domain.
  assert.ok(oracle.digitAccuracy > 0.93 && oracle.domainAccuracy > 0.93, JSON.stringify(oracle));
  assert.ok(oracle.fid !== null && oracle.fid < 1e-6, `${oracle.fid}`);
  assert.ok(oracle.domainFid !== null && oracle.domainFid < 1e-6);
  assert.equal(oracle.intraFid, null, "80 classes of ~12 images: too few for intra-FID");
  // A generator that ignores its caption: real images made for other captions.
  const order = stream.permutation(N);
  const shuffled = new Float32Array(N * D);
  order.forEach((j, i) => shuffled.set(real.subarray(j * D, (j + 1) * D), i * D));
  const blind = await captionScores(
    { count: N, generated: shuffled, real, digits, domains },
    classifiers,
  );
  // Chance: P(digit) ≈ 0.1 and P(domain) = 1/8, within ~4 binomial standard deviations.
  assert.ok(Math.abs(blind.digitAccuracy - 0.1) < 0.04, `${blind.digitAccuracy}`);
  assert.ok(Math.abs(blind.domainAccuracy - 0.125) < 0.045, `${blind.domainAccuracy}`);
  assert.ok(blind.matchAccuracy < 0.04);
  // Same images overall, so a small overall FID; wrong per domain, so a large per-domain one.
  assert.ok(blind.fid! < 1 && blind.domainFid! > 10 * (blind.fid! + 0.1), JSON.stringify(blind));
});
