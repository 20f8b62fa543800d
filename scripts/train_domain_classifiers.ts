/**
 * Train the two frozen classifiers of the translation metrics from a fixed seed on MNIST put
 * through the domains of datasets/domains.ts: one that reads the digit in every domain, and
 * one that names the domain. Prints their test accuracy per domain and their sha256, and
 * writes metrics/domains/{digit,domain}.weights.json.
 *
 *   deno run --allow-read=. --allow-write=metrics/domains --allow-env scripts/train_domain_classifiers.ts \
 *     [--epochs 4] [--seed 1] [--limit N]
 *   ... scripts/train_domain_classifiers.ts --eval   (accuracies of the committed weights)
 *
 * Both nets use the LeNet of metrics/features/classifier.ts (the digit reader at the canonical
 * size, so its 84 features can serve FID per domain; the domain namer with narrower dense
 * layers). Each training image gets a uniformly drawn domain and a random shift of up to
 * ±1 pixel, applied to the original digit before the domain function (so that the inverted
 * domains keep a white background). The wasm backend makes training deterministic. After
 * writing new files, copy the printed hashes into metrics/domains/classifiers.ts.
 */
import * as tf from "@tensorflow/tfjs-core";
// The union package registers the gradient functions that tfjs-core alone lacks.
import "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { selectBackend } from "../core/backend.ts";
import * as training from "./training_args.ts";
import { Stream } from "../core/rng.ts";
import { loadMnist } from "../datasets/mnist.ts";
import type { Split } from "../datasets/dataset.ts";
import { applyDomain, applyDomainToAll, DOMAINS } from "../datasets/domains.ts";
import {
  classifierAccuracy,
  type FeatureExtractor,
  Lenet,
  lenetExtractor,
  weightsSha256,
} from "../metrics/features/classifier.ts";
import { DIGIT_ARCH, DOMAIN_ARCH, loadDomainClassifiers } from "../metrics/domains/classifiers.ts";

const SHIFT = 1;
const SIDE = 28;

/** One batch: each image shifted by up to ±SHIFT pixels, then put through a random domain. */
function domainBatch(
  split: Split,
  rows: ArrayLike<number>,
  stream: Stream,
): { x: Float32Array; digit: Int32Array; domain: Int32Array } {
  const d = SIDE * SIDE;
  const x = new Float32Array(rows.length * d);
  const digit = new Int32Array(rows.length);
  const domain = new Int32Array(rows.length);
  const shifted = new Uint8Array(d);
  for (let b = 0; b < rows.length; b++) {
    const row = rows[b];
    digit[b] = split.labels[row];
    domain[b] = stream.int(DOMAINS.length);
    const dx = stream.int(2 * SHIFT + 1) - SHIFT;
    const dy = stream.int(2 * SHIFT + 1) - SHIFT;
    shifted.fill(0);
    for (let r = 0; r < SIDE; r++) {
      const sr = r - dy;
      if (sr < 0 || sr >= SIDE) continue;
      for (let c = 0; c < SIDE; c++) {
        const sc = c - dx;
        if (sc >= 0 && sc < SIDE) shifted[r * SIDE + c] = split.images[row * d + sr * SIDE + sc];
      }
    }
    const out = applyDomain(DOMAINS[domain[b]], shifted);
    for (let i = 0; i < d; i++) x[b * d + i] = out[i] / 255;
  }
  return { x, digit, domain };
}

/** Test accuracy of both nets in every domain (all `count` test digits through each domain). */
async function perDomainAccuracy(
  digitNet: FeatureExtractor,
  domainNet: FeatureExtractor,
  test: Split,
  count: number,
): Promise<{ digit: number[]; domain: number[] }> {
  const digit: number[] = [];
  const domain: number[] = [];
  for (let k = 0; k < DOMAINS.length; k++) {
    const images = applyDomainToAll(DOMAINS[k], test.images, count);
    digit.push(await classifierAccuracy(digitNet, images, test.labels, count));
    domain.push(await classifierAccuracy(domainNet, images, new Uint8Array(count).fill(k), count));
  }
  return { digit, domain };
}

function printAccuracies(acc: { digit: number[]; domain: number[] }, count: number): void {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  console.log(`test accuracy per domain (${count} test digits through each domain):`);
  for (let k = 0; k < DOMAINS.length; k++) {
    console.log(
      `  ${DOMAINS[k].name.padEnd(18)} digit ${pct(acc.digit[k])}  domain ${pct(acc.domain[k])}`,
    );
  }
  console.log(
    `  ${"mean".padEnd(18)} digit ${pct(mean(acc.digit))}  domain ${pct(mean(acc.domain))}`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      ...training.trainingFlags("4"),
      eval: { type: "boolean", default: false },
      "out-dir": {
        type: "string",
        default: fileURLToPath(new URL("../metrics/domains/", import.meta.url)),
      },
    },
  });
  const settings = training.trainingSettings(values);
  const { epochs, seed, batchSize, lr } = settings;
  await selectBackend("wasm");
  const data = await loadMnist();
  if (values.eval) {
    const { digit, domain } = loadDomainClassifiers();
    console.log(`digit: sha256 ${digit.sha256}\ndomain: sha256 ${domain.sha256}`);
    printAccuracies(
      await perDomainAccuracy(digit, domain, data.test, data.test.count),
      data.test.count,
    );
    return;
  }
  const trainCount = training.trainCountOf(values.limit, data.train.count);
  console.log(
    `MNIST ${data.fingerprint.slice(0, 12)}: ${DOMAINS.length} domains, ${trainCount} images, ` +
      `${epochs} epochs, batch ${batchSize}, seed ${seed}`,
  );
  const digitNet = Lenet.init(DIGIT_ARCH, Stream.derive(seed, "domain-classifiers/digit-init"));
  const domainNet = Lenet.init(DOMAIN_ARCH, Stream.derive(seed, "domain-classifiers/domain-init"));
  const order = Stream.derive(seed, "domain-classifiers/data-order");
  const augment = Stream.derive(seed, "domain-classifiers/augment");
  const nets = [
    { net: digitNet, arch: DIGIT_ARCH, optimizer: tf.train.adam(lr) },
    { net: domainNet, arch: DOMAIN_ARCH, optimizer: tf.train.adam(lr) },
  ];
  const steps = epochs * Math.floor(trainCount / batchSize);
  const start = performance.now();
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const perm = order.permutation(trainCount);
    const lossSums = [0, 0];
    let batches = 0;
    for (let i = 0; i + batchSize <= trainCount; i += batchSize) {
      // Cosine decay to 5% of the initial rate, as for the LeNet.
      const rate = training.cosineRate(lr, step, steps);
      const batch = domainBatch(data.train, perm.subarray(i, i + batchSize), augment);
      for (const [n, { net, arch, optimizer }] of nets.entries()) {
        (optimizer as unknown as { learningRate: number }).learningRate = rate;
        const labels = n === 0 ? batch.digit : batch.domain;
        const loss = tf.tidy(() => {
          const xs = tf.tensor2d(batch.x, [batchSize, SIDE * SIDE]);
          const ys = tf.oneHot(tf.tensor1d(labels, "int32"), arch.classes);
          return optimizer.minimize(
            () => tf.losses.softmaxCrossEntropy(ys, net.forward(xs).logits) as tf.Scalar,
            true,
            [...net.vars.values()],
          )!;
        });
        lossSums[n] += (await loss.data())[0];
        loss.dispose();
      }
      batches++;
      step++;
    }
    console.log(
      `epoch ${epoch + 1}/${epochs}: loss digit ${(lossSums[0] / batches).toFixed(4)}, ` +
        `domain ${(lossSums[1] / batches).toFixed(4)}, ` +
        `${((performance.now() - start) / 1000).toFixed(0)} s`,
    );
  }
  const seconds = (performance.now() - start) / 1000;
  const acc = await perDomainAccuracy(
    lenetExtractor(digitNet, "training", ""),
    lenetExtractor(domainNet, "training", ""),
    data.test,
    data.test.count,
  );
  printAccuracies(acc, data.test.count);
  const round = (v: number[]) => v.map((a) => Number(a.toFixed(4)));
  const info = {
    ...training.trainingRecord(
      "scripts/train_domain_classifiers.ts",
      settings,
      trainCount,
      data.fingerprint,
    ),
    domains: DOMAINS.map((d) => d.name),
  };
  const outDir = values["out-dir"]!;
  for (
    const [name, net, accuracy] of [
      ["digit", digitNet, acc.digit],
      ["domain", domainNet, acc.domain],
    ] as const
  ) {
    const file = await net.toFile({ ...info, testAccuracyPerDomain: round([...accuracy]) });
    const path = `${outDir.replace(/\/$/, "")}/${name}.weights.json`;
    await Deno.writeTextFile(path, JSON.stringify(file, null, 2) + "\n");
    console.log(
      `${name}: params ${net.paramCount()}, wrote ${path}, sha256 ${weightsSha256(file)}`,
    );
  }
  console.log(`training ${seconds.toFixed(0)} s`);
}

if (import.meta.main) await main();
