/** Central-difference checks of tf's gradients for the GAN tests. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";

/** Step and tolerance of {@link checkGradient}: |numeric − tf| ≤ absolute + relative·|numeric|. */
export interface GradientCheck {
  eps?: number;
  absolute?: number;
  relative?: number;
  /** The variable's name in messages (default: its tf name). */
  label?: string;
}

/** Central differences of `loss` along a few entries of `variable`, beside tf's gradient. */
export function checkGradient(
  loss: () => tf.Scalar,
  variable: tf.Variable,
  entries: number[],
  { eps = 1e-2, absolute = 2e-3, relative = 2e-2, label = variable.name }: GradientCheck = {},
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
    const tol = absolute + relative * Math.abs(numeric);
    assert.ok(
      Math.abs(numeric - analytic[i]) <= tol,
      `${label}[${i}]: tf ${analytic[i]} vs central difference ${numeric}`,
    );
  }
  tf.dispose(Object.values(grads));
}

/**
 * The derivative of `loss` along one seeded ±1 direction over all of `variable`, by central
 * differences, beside tf's gradient projected on it: many entries at once, so float32 rounding
 * and the odd ReLU kink crossed by one entry's step weigh little against the signal.
 */
export function checkDirectional(
  loss: () => tf.Scalar,
  variable: tf.Variable,
  seed: number,
  eps = 1e-4,
): void {
  const { grads } = tf.variableGrads(loss, [variable]);
  const analytic = grads[variable.name].dataSync();
  const base = variable.dataSync().slice();
  let state = seed;
  const direction = base.map(() => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % 2 === 0 ? 1 : -1;
  });
  let projected = 0;
  for (let i = 0; i < base.length; i++) projected += analytic[i] * direction[i];
  const at = (delta: number) => {
    variable.assign(tf.tensor(base.map((v, i) => v + delta * direction[i]), variable.shape));
    return tf.tidy(() => loss().dataSync()[0]);
  };
  const numeric = (at(eps) - at(-eps)) / (2 * eps);
  variable.assign(tf.tensor(base, variable.shape));
  const tol = 2e-3 + 3e-2 * Math.abs(numeric);
  assert.ok(
    Math.abs(numeric - projected) <= tol,
    `${variable.name}: tf ${projected} vs central difference ${numeric} along a ±1 direction`,
  );
  tf.dispose(Object.values(grads));
}
