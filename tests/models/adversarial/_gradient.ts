/** Central-difference checks of tf's gradients for the translation GAN tests. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";

/** Central differences of `loss` along a few entries of `variable`, beside tf's gradient. */
export function checkGradient(
  loss: () => tf.Scalar,
  variable: tf.Variable,
  entries: number[],
  eps = 1e-2,
): void {
  const { grads } = tf.variableGrads(loss, [variable]);
  const analytic = grads[variable.name].dataSync();
  const base = variable.dataSync().slice();
  for (const i of entries) {
    const at = (delta: number) => {
      const values = base.slice();
      values[i] += delta;
      variable.assign(tf.tensor(values, variable.shape));
      return tf.tidy(() => loss().dataSync()[0]);
    };
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    variable.assign(tf.tensor(base, variable.shape));
    const tol = 2e-3 + 2e-2 * Math.abs(numeric);
    assert.ok(
      Math.abs(numeric - analytic[i]) <= tol,
      `${variable.name}[${i}]: tf ${analytic[i]} vs central difference ${numeric}`,
    );
  }
  tf.dispose(Object.values(grads));
}
