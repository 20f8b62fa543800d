import assert from "node:assert/strict";
import * as pixel from "./_pixel_cnn_checks.ts";

pixel.registerChecks("pixelcnn");

Deno.test("pixelcnn: output i has zero gradient w.r.t. inputs j ≥ i (binary and 8-bit)", () => {
  for (const bits of [1, 8]) {
    const model = pixel.build("pixelcnn", 7, 7, bits === 8 ? { bits, channels: 16 } : {});
    pixel.randomizeBiases(model);
    const jacobian = pixel.jacobianRows(model, pixel.testImage(49, bits));
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
