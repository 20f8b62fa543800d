import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import { Stream } from "../../../core/rng.ts";
import { type Made, madeDegrees, madeSpec } from "../../../models/autoregressive/made.ts";
import type { ModelOptions } from "../../../models/model.ts";
import { allBinaryImages, jacobianRows, totalProbability, useCpu } from "./_helpers.ts";
import { assertBothSamplersFollowLogits, buildModel, registerBinaryOnlyChecks } from "./_build.ts";

await useCpu();

const made = (height: number, width: number, options: ModelOptions = {}) =>
  buildModel<Made>(madeSpec, height, width, options);

/** Random non-zero biases, so that no check rests on the zero initial biases. */
function randomizeBiases(model: Made): void {
  const stream = Stream.derive(3, "biases");
  for (const layer of model.layers) {
    layer.bias.assign(tf.tensor1d(stream.normalArray(layer.bias.size)));
  }
}

Deno.test("made: probabilities of all binary 4×3 and 3×3 images sum to 1", () => {
  for (const [height, width, hidden, layers] of [[4, 3, 7, 2], [4, 3, 9, 1], [3, 3, 500, 2]]) {
    const images = allBinaryImages(height * width);
    const model = made(height, width, { hidden, layers });
    randomizeBiases(model);
    const total = totalProbability(model, images);
    assert.ok(Math.abs(total - 1) < 1e-5, `${height}×${width} ${layers}×${hidden}: Σ p = ${total}`);
    model.dispose();
    images.dispose();
  }
});

Deno.test("made: degrees come from the init stream and respect the MADE ranges", () => {
  const a = madeDegrees(10, [50, 50], Stream.derive(1, "init"));
  const b = madeDegrees(10, [50, 50], Stream.derive(1, "init"));
  assert.deepEqual(a, b);
  const low = Math.min(...a[0]);
  for (const m of a[0]) assert.ok(m >= 1 && m <= 9);
  for (const m of a[1]) assert.ok(m >= low && m <= 9);
});

Deno.test("made: logit of pixel d has zero gradient w.r.t. pixels ≥ d", () => {
  const model = made(3, 3, { hidden: 40 });
  randomizeBiases(model);
  const jacobian = jacobianRows(model, [1, 0, 1, 1, 0, 1, 0, 1, 1]);
  let nonzero = 0;
  for (let d = 0; d < 9; d++) {
    for (let j = 0; j < 9; j++) {
      if (j >= d) assert.equal(jacobian[d][j], 0, `d=${d} j=${j}`);
      else if (jacobian[d][j] !== 0) nonzero++;
    }
  }
  // Most earlier pixels do reach later outputs (ReLUs and the random mask may cut a few).
  assert.ok(nonzero > 20, `only ${nonzero} of 36 earlier pixels reach a later output`);
  model.dispose();
});

Deno.test("made: both degree-ordered samplers draw from the network's conditionals", async () => {
  for (const layers of [1, 2, 3]) {
    const model = made(4, 4, { hidden: 24, layers });
    randomizeBiases(model);
    await assertBothSamplersFollowLogits(model, `layers=${layers}`);
    assert.deepEqual(
      await model.tensorSample(8, Stream.derive(9, "s")),
      await model.sample(8, Stream.derive(9, "s")),
    );
    model.dispose();
  }
});

registerBinaryOnlyChecks("made", made, {
  parameters: 1_035_784,
  training: { hidden: 32, learningRate: 0.01 },
});
