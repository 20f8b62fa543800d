import assert from "node:assert/strict";
import * as pixel from "./_pixel_cnn_checks.ts";

pixel.registerChecks("gated-pixelcnn");

/**
 * The input pixels each output can depend on, from the architecture alone (no tfjs): vertical
 * stack V, horizontal stack H, per layer. Returns dependsOn[i][j] for an H×W image.
 */
function structuralField(height: number, width: number, layers: number): boolean[][] {
  const dims = height * width;
  const inside = (r: number, c: number) => r >= 0 && r < height && c >= 0 && c < width;
  const empty = () => Array.from({ length: dims }, () => new Set<number>());
  let v = empty();
  let h = empty();
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const i = r * width + c;
      for (let dy = -3; dy <= -1; dy++) {
        for (let dx = -3; dx <= 3; dx++) {
          if (inside(r + dy, c + dx)) v[i].add((r + dy) * width + c + dx);
        }
      }
      for (let dx = -3; dx <= -1; dx++) if (inside(r, c + dx)) h[i].add(r * width + c + dx);
      for (const j of v[i]) h[i].add(j);
    }
  }
  for (let l = 1; l < layers; l++) {
    const v2 = empty();
    const h2 = empty();
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const i = r * width + c;
        for (const dy of [-1, 0]) {
          for (const dx of [-1, 0, 1]) {
            if (inside(r + dy, c + dx)) {
              for (const j of v[(r + dy) * width + c + dx]) v2[i].add(j);
            }
          }
        }
        for (const j of h[i]) h2[i].add(j);
        if (c > 0) { for (const j of h[i - 1]) h2[i].add(j); }
        for (const j of v2[i]) h2[i].add(j);
      }
    }
    [v, h] = [v2, h2];
  }
  return h.map((set) => Array.from({ length: dims }, (_, j) => set.has(j)));
}

Deno.test("gated-pixelcnn: zero gradient for j ≥ i, non-zero over the whole field (no blind spot)", () => {
  const [height, width] = [8, 8];
  const dims = height * width;
  for (const bits of [1, 8]) {
    // 7 gated layers as in the canonical net; 16 channels suffice for the structure.
    const model = pixel.build("gated-pixelcnn", height, width, { bits, channels: 16 });
    pixel.randomizeBiases(model);
    const field = structuralField(height, width, 7);
    const jacobian = pixel.jacobianRows(model, pixel.testImage(dims, bits));
    for (let i = 0; i < dims; i++) {
      const g = jacobian[i];
      const [r, c] = [Math.floor(i / width), i % width];
      for (let j = 0; j < dims; j++) {
        const [rj, cj] = [Math.floor(j / width), j % width];
        if (j >= i) assert.equal(g[j], 0, `bits=${bits} i=${i} j=${j}: depends on a later pixel`);
        else assert.equal(g[j] !== 0, field[i][j], `bits=${bits} i=${i} j=${j}`);
        // No blind spot: every earlier pixel of the 4 rows above within 4 columns is seen,
        // including (r − 1, c + 4), which PixelCNN cannot see.
        if (j < i && r - rj <= 3 && Math.abs(c - cj) <= 4) {
          assert.notEqual(g[j], 0, `bits=${bits} i=${i} j=${j}: blind spot`);
        }
      }
    }
    model.dispose();
  }
});
