import assert from "node:assert/strict";
import { pixelCnnSpec } from "../../../models/autoregressive/pixelcnn.ts";
import { useCpu } from "./_helpers.ts";
import {
  buildPixelCnn,
  jacobianRows,
  randomizeBiases,
  registerPixelCnnChecks,
  testImage,
} from "./_pixel_cnn_checks.ts";

await useCpu();

const SMALL = { channels: 8, blocks: 2 };

registerPixelCnnChecks({
  spec: pixelCnnSpec,
  small: SMALL,
  binarySums: [[4, 3, SMALL], [3, 3, {}]],
  byteSums: [[1, 1, { bits: 8 }], [1, 2, { bits: 8, channels: 4, blocks: 1 }]],
  counts: { binary: 270_081, byte: 286_656 },
  samplerCases: [[5, 6, {}, 2], [4, 5, { bits: 8, ...SMALL }, 256]],
  samples: 48,
  minChecked: 40,
});

Deno.test("pixelcnn: output i has zero gradient w.r.t. inputs j ≥ i (binary and 8-bit)", () => {
  for (const bits of [1, 8]) {
    const model = buildPixelCnn(pixelCnnSpec, 7, 7, bits === 8 ? { bits, channels: 16 } : {});
    randomizeBiases(model);
    const jacobian = jacobianRows(model, testImage(49, bits));
    for (let i = 0; i < 49; i++) {
      for (let j = i; j < 49; j++) assert.equal(jacobian[i][j], 0, `bits=${bits} i=${i} j=${j}`);
      const [r, c] = [Math.floor(i / 7), i % 7];
      // The left neighbour and the pixel above are always in view.
      if (c > 0) assert.notEqual(jacobian[i][i - 1], 0, `bits=${bits} i=${i} left`);
      if (r > 0) assert.notEqual(jacobian[i][i - 7], 0, `bits=${bits} i=${i} above`);
    }
    model.dispose();
  }
});
