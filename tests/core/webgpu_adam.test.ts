/**
 * The fused Adam update (core/webgpu/adam.ts) against tfjs's own Adam, both on webgpu (the
 * software adapter): same values over several steps within float32 rounding, bit-identical on a
 * repeat, and the cpu backend untouched by the patch. Skipped where no WebGPU adapter exists.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { Stream } from "../../core/rng.ts";
import { installFusedAdam, uninstallFusedAdam } from "../../core/webgpu/adam.ts";
import { countDispatches } from "../../core/webgpu/dispatch.ts";
import { webgpuTest } from "./_webgpu.ts";

/** Five Adam steps on two variables with seeded gradients; returns the values and moments. */
async function fiveSteps(backend: string): Promise<Float32Array> {
  await tf.setBackend(backend);
  const s = Stream.derive(11, "adam");
  const draw = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * s.uniform() - 1),
      shape,
    );
  const a = tf.variable(draw([37, 5]));
  const b = tf.variable(draw([300]));
  const opt = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
  for (let step = 0; step < 5; step++) {
    const ga = draw([37, 5]), gb = draw([300]);
    // Half the steps by name map, half by list: both forms of applyGradients.
    if (step % 2) {
      opt.applyGradients(
        { [a.name]: ga, [b.name]: gb } as unknown as Parameters<typeof opt.applyGradients>[0],
      );
    } else opt.applyGradients([{ name: a.name, tensor: ga }, { name: b.name, tensor: gb }]);
    tf.dispose([ga, gb]);
  }
  const weights = await opt.getWeights();
  const parts = [await a.data(), await b.data()];
  for (const w of weights.slice(1)) parts.push(await w.tensor.data());
  // The bias-correction products a checkpoint saves.
  const internal = opt as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  parts.push(await internal.accBeta1.data(), await internal.accBeta2.data());
  opt.dispose();
  tf.dispose([a, b]);
  return Float32Array.from(parts.flatMap((p) => [...p]));
}

webgpuTest("fused Adam on webgpu matches tfjs Adam and repeats bit for bit", async () => {
  uninstallFusedAdam();
  const stock = await fiveSteps("webgpu");
  installFusedAdam();
  try {
    const fused = await fiveSteps("webgpu");
    const again = await fiveSteps("webgpu");
    const cpu = await fiveSteps("cpu"); // the patch leaves other backends on tfjs's code
    assert.equal(fused.length, stock.length);
    assert.equal(fused.length, 3 * (37 * 5 + 300) + 2); // values, both moments, β1ᵗ, β2ᵗ
    // β1ᵗ and β2ᵗ exactly as tfjs's float32 running product.
    assert.deepEqual([...fused.slice(-2)], [...stock.slice(-2)]);
    let maxErr = 0, maxRef = 0;
    for (let i = 0; i < stock.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(fused[i] - stock[i]));
      maxRef = Math.max(maxRef, Math.abs(stock[i]));
      assert.ok(Object.is(fused[i], again[i]), `value ${i} differs on a repeat`);
    }
    assert.ok(maxErr / maxRef <= 1e-5, `relative error ${maxErr / maxRef}`);
    let cpuErr = 0;
    for (let i = 0; i < stock.length; i++) cpuErr = Math.max(cpuErr, Math.abs(cpu[i] - stock[i]));
    assert.ok(cpuErr / maxRef <= 1e-5, `cpu vs webgpu ${cpuErr / maxRef}`);
  } finally {
    uninstallFusedAdam();
  }
});

webgpuTest(
  "fused Adam dispatches once per variable (and once for βᵗ) where tfjs dispatches 14 times",
  async () => {
    const vars = [tf.variable(tf.ones([20, 3])), tf.variable(tf.ones([7]))];
    const grads = vars.map((v) => ({ name: v.name, tensor: tf.onesLike(v) }));
    const count = async () => {
      const opt = tf.train.adam(0.1);
      // The first update also creates the moments (zerosLike): count the second.
      opt.applyGradients(grads);
      const dispatches = await countDispatches(() => opt.applyGradients(grads));
      opt.dispose();
      return dispatches;
    };
    const stock = await count();
    installFusedAdam();
    try {
      assert.equal(await count(), 3); // one per variable, one for the β powers
      assert.ok(stock >= 14 * 2, `tfjs dispatched ${stock} times`);
    } finally {
      uninstallFusedAdam();
      tf.dispose([...vars, ...grads.map((g) => g.tensor)]);
    }
  },
);
