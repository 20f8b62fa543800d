import assert from "node:assert/strict";
import { decode } from "fast-png";
import { selectBackend } from "../../../core/backend.ts";
import { Stream } from "../../../core/rng.ts";
import { cgan, dcgan } from "../../../models/adversarial/dcgan.ts";
import { infogan } from "../../../models/adversarial/infogan.ts";
import { vaeMlp } from "../../../models/latent/vae_mlp.ts";
import type { ModelSpec } from "../../../models/model.ts";
import { ganViews, slerp } from "../../../benchmarks/views/generator.ts";
import { defaultOptions } from "../../../models/options.ts";

await selectBackend("cpu");
const TINY = { height: 8, width: 8, channels: 1 };

function build(spec: ModelSpec, options = {}) {
  return spec.create({
    shape: TINY,
    options: {
      ...defaultOptions(spec.options),
      width: 4,
      latent: 6,
      noise: 6,
      bnReference: 16,
      ...options,
    },
    init: Stream.derive(1, "init"),
  });
}

Deno.test("slerp runs from a to b along the great circle", () => {
  const a = new Float32Array([1, 0]);
  const b = new Float32Array([0, 1]);
  assert.deepEqual(Array.from(slerp(a, b, 0)), [1, 0]);
  const mid = slerp(a, b, 0.5);
  assert.ok(Math.abs(mid[0] - Math.SQRT1_2) < 1e-6 && Math.abs(mid[1] - Math.SQRT1_2) < 1e-6);
  const end = slerp(a, b, 1);
  assert.ok(Math.abs(end[0]) < 1e-6 && Math.abs(end[1] - 1) < 1e-6);
});

Deno.test("GAN views: interpolation strips, class rows, InfoGAN code grids as PNGs", async () => {
  const options = { rows: 3, steps: 5 };
  const plain = build(dcgan);
  const views = await ganViews(plain, TINY, Stream.derive(1, "v"), options);
  assert.deepEqual(Object.keys(views), ["interpolation.png"]);
  // 5 columns of 8 + 1 pixels plus a border, ×2 scale; 3 rows.
  const png = decode(views["interpolation.png"]);
  assert.equal(png.width, (5 * 9 + 1) * 2);
  assert.equal(png.height, (3 * 9 + 1) * 2);
  plain.dispose();

  const conditional = build(cgan);
  const cViews = await ganViews(conditional, TINY, Stream.derive(1, "v"), {
    ...options,
    classes: 10,
  });
  assert.deepEqual(Object.keys(cViews).sort(), ["classes.png", "interpolation.png"]);
  assert.equal(decode(cViews["classes.png"]).width, (10 * 9 + 1) * 2);
  conditional.dispose();

  const info = build(infogan);
  const iViews = await ganViews(info, TINY, Stream.derive(1, "v"), options);
  assert.deepEqual(Object.keys(iViews).sort(), [
    "codes_categorical.png",
    "codes_continuous_1.png",
    "codes_continuous_2.png",
    "interpolation.png",
  ]);
  assert.equal(decode(iViews["codes_continuous_1.png"]).height, (10 * 9 + 1) * 2);
  info.dispose();

  const vae = vaeMlp.create({
    shape: TINY,
    options: { ...defaultOptions(vaeMlp.options), hidden: 4, latent: 2 },
    init: Stream.derive(1, "init"),
  });
  assert.deepEqual(await ganViews(vae, TINY, Stream.derive(1, "v")), {});
  vae.dispose();
});
