import assert from "node:assert/strict";
import { decode } from "fast-png";
import { captionRowsPng, textStrip } from "../../../benchmarks/views/captions.ts";

const SHAPE = { height: 12, width: 12, channels: 1 };

Deno.test("caption view: each caption in a 3×5 font, then its samples, one row per caption", () => {
  // Row r's k-th sample is the constant (r·2 + k + 1) / 8.
  const images = new Float32Array(4 * 144);
  for (let n = 0; n < 4; n++) images.fill((n + 1) / 8, n * 144, (n + 1) * 144);
  const png = decode(captionRowsPng(["a 1", "2, plain"], images, SHAPE, 2, 1));
  // Margin 4·8 + 1 = 33, two 13-pixel cells, and gridPng's 1-pixel border.
  assert.deepEqual([png.width, png.height], [1 + 33 + 2 * 13 + 1, 1 + 2 * 13]);
  const at = (x: number, y: number) => png.data[y * png.width + x];
  for (let n = 0; n < 4; n++) {
    const [r, k] = [Math.floor(n / 2), n % 2];
    const [x0, y0] = [1 + 33 + k * 13 + 1, 1 + r * 13];
    assert.equal(at(x0, y0), Math.round((255 * (n + 1)) / 8), `sample ${n}`);
    assert.equal(at(x0 + 11, y0 + 11), Math.round((255 * (n + 1)) / 8));
  }
  // "A" (rows 010 101 111 …) from x = 2, y = 1 + 3: its top row is dark in the middle only.
  assert.deepEqual([at(2, 4), at(3, 4), at(4, 4)], [255, 0, 255]);
  assert.deepEqual([at(2, 6), at(3, 6), at(4, 6)], [0, 0, 0]);
  assert.throws(() => captionRowsPng(["a 1"], images, SHAPE, 2), /not 1×2 images/);
});

Deno.test("caption view: text strips are cut at their width, unknown characters blank", () => {
  const strip = textStrip("a?", 6, 7);
  assert.equal(strip.length, 42);
  // "?" prints nothing; "A" (010 101 111 101 101: 10 dark pixels) fills columns 1-3.
  assert.equal(strip.filter((v) => v === 0).length, 10);
  assert.equal(textStrip("abc", 5, 7).filter((v) => v === 0).length, 10);
});
