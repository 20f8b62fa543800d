import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../core/backend.ts";
import { checkGradient } from "./_gradient.ts";
import { Stream } from "../../../core/rng.ts";
import { UsageError } from "../../../core/errors.ts";
import { allCaptions, captionVocabulary, encodeCaption } from "../../../datasets/captions.ts";
import { applyDomain, DOMAINS } from "../../../datasets/domains.ts";
import { syntheticDataset } from "../../../datasets/synthetic.ts";
import { defaultOptions } from "../../../models/options.ts";
import {
  captionedTrainingSplit,
  type ClsInputs,
  matchingAwareLoss,
  Text2Image,
  text2image,
  TEXT2IMAGE_OPTIONS,
} from "../../../models/adversarial/text2image.ts";
import {
  CAPTION_LENGTH,
  captionClass,
  CaptionTable,
  PoolingTextEncoder,
  vocabularySize,
} from "../../../models/layers/text.ts";

await selectBackend("cpu");

const OPTIONS = defaultOptions(TEXT2IMAGE_OPTIONS);
const vocabulary = captionVocabulary();
const ids = (text: string) => encodeCaption(text, vocabulary, CAPTION_LENGTH);

// float32 differences of an O(1) loss are good to ~1e-5: small gradients are checked too.
const TEXT_TOLERANCE = { eps: 1e-2, absolute: 3e-5, relative: 5e-2 };

Deno.test("text2image: GAN-CLS's D loss equals its closed form on hand-made logits", () => {
  const r = tf.tensor1d([0, Math.log(3)]);
  const w = tf.tensor1d([0, Math.log(3)]);
  const f = tf.tensor1d([Math.log(3), -Math.log(3)]);
  // −log σ(0) = ln 2, −log σ(ln 3) = ln 4/3; −log(1 − σ(ln 3)) = ln 4, −log(1 − σ(−ln 3)) = ln 4/3.
  const real = (Math.LN2 + Math.log(4 / 3)) / 2;
  const wrong = (Math.LN2 + Math.log(4)) / 2;
  const fake = (Math.log(4) + Math.log(4 / 3)) / 2;
  const loss = matchingAwareLoss(r, w, f);
  assert.ok(Math.abs(loss.dataSync()[0] - (real + 0.5 * (wrong + fake))) < 1e-6);
  // One-sided smoothing t = 0.9: the real term is the cross-entropy with 0.9.
  const smoothed = (0.9 * (Math.LN2 + Math.log(4 / 3)) + 0.1 * (Math.LN2 + Math.log(4))) / 2;
  const withSmoothing = matchingAwareLoss(r, w, f, 0.9);
  assert.ok(Math.abs(withSmoothing.dataSync()[0] - (smoothed + 0.5 * (wrong + fake))) < 1e-6);
  tf.dispose([r, w, f, loss, withSmoothing]);
});

Deno.test("text2image: encoder, D and G gradients match central differences on a tiny case", () => {
  const shape = { height: 4, width: 4, channels: 1 };
  const options = {
    ...OPTIONS,
    width: 2,
    latent: 2,
    embedding: 3,
    textSize: 4,
    condition: 2,
  } as typeof OPTIONS;
  const model = new Text2Image(shape, options as never, Stream.derive(3, "init"));
  const noise = Stream.derive(3, "inputs");
  // Weights of order one (the DCGAN init's 0.02 makes every gradient too small to check).
  for (const [name, v] of model.weights()) {
    const values = noise.normalArray(v.size).map((x) => (name.endsWith("gamma") ? 1 : 0) + 0.5 * x);
    v.assign(tf.tensor(values, v.shape));
  }
  const captions = ["a thick 7", "the digit one, inverted", "nine, plain"];
  const inputs: ClsInputs = {
    real: tf.tensor2d(noise.uniformArray(3 * 16), [3, 16]),
    z: tf.tensor2d(noise.normalArray(3 * 2), [3, 2]),
    right: tf.tensor2d(Int32Array.from(captions.flatMap((c) => [...ids(c)])), [3, 8], "int32"),
    wrong: tf.tensor2d(
      Int32Array.from(
        ["a bold 2", "four, thin", "the digit 7, hollow"].flatMap((c) => [...ids(c)]),
      ),
      [3, 8],
      "int32",
    ),
  };
  const fake = tf.tidy(() => model.generate(inputs.z, model.encoder.encode(inputs.right)));
  const dLoss = () => model.discriminatorTerms(inputs, fake).loss;
  // Rows of words that occur ("thick", "7", "inverted"), and the encoder's and D's text layers.
  const word = (w: string) => (vocabulary.indexOf(w) + 2) * 3;
  checkGradient(
    dLoss,
    model.encoder.embedding,
    [word("thick"), word("7") + 1, word("inverted")],
    TEXT_TOLERANCE,
  );
  checkGradient(dLoss, model.encoder.dense.kernel, [0, 7, 13], TEXT_TOLERANCE);
  checkGradient(dLoss, model.d.text.kernel, [0, 5], TEXT_TOLERANCE);
  checkGradient(dLoss, model.d.joint.kernel, [1, 6], TEXT_TOLERANCE);
  checkGradient(dLoss, model.d.conv1.kernel, [2, 9], TEXT_TOLERANCE);
  const gLoss = () => model.generatorLoss(inputs);
  checkGradient(gLoss, model.compress.kernel, [0, 3, 6], TEXT_TOLERANCE);
  checkGradient(gLoss, model.g.dense.kernel, [1, 11], TEXT_TOLERANCE);
  tf.dispose([inputs.real, inputs.z, inputs.right, inputs.wrong, fake]);
  model.dispose();
});

Deno.test("text2image: the pooling encoder ignores word order and padding", () => {
  const encoder = new PoolingTextEncoder("t", vocabularySize(), 5, 6, Stream.derive(1, "init"));
  const rows = ["a thick and inverted digit 3", "3 thick digit inverted and a", "3, inverted"];
  const tokens = tf.tensor2d(Int32Array.from(rows.flatMap((c) => [...ids(c)])), [3, 8], "int32");
  const longer = tf.concat([tokens, tf.zeros([3, 4], "int32")], 1) as tf.Tensor2D;
  const a = encoder.encode(tokens).arraySync();
  const b = encoder.encode(longer).arraySync();
  for (let j = 0; j < 6; j++) {
    assert.ok(Math.abs(a[0][j] - a[1][j]) < 1e-6, "reordered words");
    assert.ok(Math.abs(a[0][j] - b[0][j]) < 1e-6, "extra padding");
  }
  assert.ok(a[0].some((v, j) => Math.abs(v - a[2][j]) > 1e-4), "other words, other embedding");
  tf.dispose([tokens, longer, encoder.embedding, ...encoder.dense.variables().map(([, v]) => v)]);
});

Deno.test("text2image: the caption table draws the training caption ⌊u·count⌋ of each class", () => {
  const table = new CaptionTable("train");
  const cases: [number, number, number][] = [[7, 2, 0], [3, 6, 0.5], [0, 0, 0.99999994], [
    9,
    7,
    0.3,
  ]];
  const labels = tf.tensor1d(cases.map(([d, m]) => captionClass(d, m)), "int32");
  const u = tf.tensor1d(cases.map(([, , v]) => v));
  const drawn = table.draw(labels, u).arraySync();
  cases.forEach(([digit, domain, v], i) => {
    const list = allCaptions(digit, domain, "train");
    const expected = ids(list[Math.min(list.length - 1, Math.floor(v * list.length))]);
    assert.deepEqual(drawn[i], [...expected], `${digit} in ${DOMAINS[domain].name}`);
  });
  tf.dispose([labels, u]);
  table.dispose();
});

Deno.test("text2image: the training split puts each digit through one domain, balanced and fixed", () => {
  const data = syntheticDataset();
  const split = captionedTrainingSplit(data.train, data.shape);
  assert.deepEqual(captionedTrainingSplit(data.train, data.shape), split);
  const perDomain = new Array(DOMAINS.length).fill(0);
  for (let i = 0; i < split.count; i++) {
    const domain = split.labels[i] % DOMAINS.length;
    assert.equal(Math.floor(split.labels[i] / DOMAINS.length), data.train.labels[i]);
    perDomain[domain]++;
    const source = data.train.images.subarray(i * 144, (i + 1) * 144);
    assert.deepEqual(
      split.images.subarray(i * 144, (i + 1) * 144),
      applyDomain(DOMAINS[domain], source, 12, 12),
    );
  }
  assert.ok(Math.max(...perDomain) - Math.min(...perDomain) <= 1, `${perDomain}`);
  assert.throws(
    () => captionedTrainingSplit(data.train, { height: 12, width: 12, channels: 3 }),
    UsageError,
  );
});

/** A few steps of a narrow model on the captioned synthetic split; its losses and samples. */
async function run(readBacks: { count: number }) {
  const data = syntheticDataset();
  const split = captionedTrainingSplit(data.train, data.shape);
  const model = text2image.create({
    shape: data.shape,
    options: { ...OPTIONS, width: 4, batchSize: 16 },
    init: Stream.derive(1, "init"),
  });
  const noise = Stream.derive(1, "noise");
  const losses: Record<string, tf.Scalar>[] = [];
  for (let step = 0; step < 3; step++) {
    const rows = Array.from({ length: 16 }, (_, i) => step * 16 + i);
    const x = tf.tensor2d(
      Float32Array.from(rows.flatMap((r) => [...split.images.subarray(r * 144, (r + 1) * 144)]))
        .map((v) => v / 255),
      [16, 144],
    );
    const y = tf.tensor1d(rows.map((r) => split.labels[r]), "int32");
    const before = readBacks.count;
    losses.push(model.trainStep(x, noise, y));
    assert.equal(readBacks.count, before, "trainStep read a tensor back");
    tf.dispose([x, y]);
  }
  const values = losses.map((l) =>
    Object.fromEntries(Object.entries(l).map(([k, v]) => [k, v.dataSync()[0]]))
  );
  losses.forEach((l) => tf.dispose(Object.values(l)));
  const samples = await model.sample!(
    12,
    Stream.derive(1, "sample"),
    Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]),
  );
  const fromText = await model.fromCaptions!(
    Int32Array.from([...ids("an inverted and thick digit 5"), ...ids("2, plain")]),
    2,
    Stream.derive(1, "captions"),
  );
  model.dispose();
  return { values, samples, fromText };
}

Deno.test("text2image trains without reading tensors back, deterministically; samples in [0, 1]", async () => {
  // Every way a tensor reaches the host, counted while a step runs.
  const counter = { count: 0 };
  const proto = tf.Tensor.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const names = ["data", "dataSync", "array", "arraySync", "buffer", "bufferSync"];
  const saved = names.map((n) => proto[n]);
  names.forEach((n, i) => {
    proto[n] = function (this: unknown, ...args: unknown[]) {
      counter.count++;
      return saved[i].apply(this, args);
    };
  });
  const tensors = tf.memory().numTensors;
  let first, second;
  try {
    first = await run(counter);
    second = await run(counter);
  } finally {
    names.forEach((n, i) => (proto[n] = saved[i]));
  }
  assert.equal(tf.memory().numTensors, tensors, "tensors leaked");
  assert.deepEqual(first, second);
  for (const step of first.values) {
    for (const [name, value] of Object.entries(step)) assert.ok(Number.isFinite(value), name);
  }
  assert.ok(first.values[0].d_wrong > 0 && first.values[0].d_wrong < 1);
  for (const images of [first.samples, first.fromText]) {
    assert.ok(images.every((v) => v >= 0 && v <= 1));
  }
  assert.equal(first.samples.length, 12 * 144);
});

Deno.test("text2image refuses a batch without classes, ragged captions and colour images", async () => {
  const model = text2image.create({
    shape: { height: 12, width: 12, channels: 1 },
    options: { ...OPTIONS, width: 2 },
    init: Stream.derive(1, "init"),
  });
  const x = tf.zeros([4, 144]) as tf.Tensor2D;
  assert.throws(() => model.trainStep(x, Stream.derive(1, "n")), /caption classes/);
  await assert.rejects(
    () => model.fromCaptions!(new Int32Array(7), 2, Stream.derive(1, "n")),
    /not 2 captions/,
  );
  assert.throws(
    () =>
      text2image.create({
        shape: { height: 12, width: 12, channels: 3 },
        options: OPTIONS,
        init: Stream.derive(1, "init"),
      }),
    UsageError,
  );
  x.dispose();
  model.dispose();
});
