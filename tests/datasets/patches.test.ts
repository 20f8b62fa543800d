import assert from "node:assert/strict";
import { UsageError } from "../../core/errors.ts";
import { Stream } from "../../core/rng.ts";
import {
  checkPatchLayout,
  cutPatches,
  drawPatchPositions,
  keyPositions,
  patchIndices,
  patchMasks,
} from "../../datasets/patches.ts";

// A 4×5 single-channel image whose value is its flat pixel index.
const SHAPE = { height: 4, width: 5, channels: 1 };
const IMAGE = Float32Array.from({ length: 20 }, (_, i) => i);

Deno.test("patches: cut by hand, the true mask covers exactly the cut pixels (overlaps once)", () => {
  const layout = { count: 2, candidates: 2, size: 2, margin: 0 };
  // (row 0, col 0) and (row 1, col 1): the squares overlap on pixel (1, 1).
  const positions = Int32Array.from([0, 0, 1, 1]);
  assert.deepEqual(
    Array.from(cutPatches(IMAGE, 1, positions, layout, SHAPE)),
    [0, 1, 5, 6, 6, 7, 11, 12],
  );
  const mask = patchMasks(positions, 1, layout, SHAPE);
  assert.deepEqual(Array.from(mask), [
    1,
    1,
    0,
    0,
    0,
    1,
    1,
    1,
    0,
    0,
    0,
    1,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
});

Deno.test("patches: HWC order with two channels and two images", () => {
  const shape = { height: 2, width: 2, channels: 2 };
  const layout = { count: 1, candidates: 1, size: 1, margin: 0 };
  const positions = Int32Array.from([1, 0, 0, 1]); // image 0: pixel (1,0); image 1: pixel (0,1)
  // Image 0 starts at 0, image 1 at 8; pixel (1,0) is pixel 2 → values 4, 5; (0,1) → 8 + 2, 3.
  assert.deepEqual(Array.from(patchIndices(positions, 2, layout, shape)), [4, 5, 10, 11]);
  const masks = patchMasks(positions, 2, layout, shape);
  assert.deepEqual(Array.from(masks), [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
});

Deno.test("patches: the key patches are the candidates with the most ink, ties in order", () => {
  const layout = { count: 2, candidates: 4, size: 1, margin: 0 };
  const image = new Float32Array(20);
  image[7] = 0.5; // (1, 2)
  image[13] = 0.9; // (2, 3)
  // Candidates: (0,0) ink 0, (1,2) ink 0.5, (3,4) ink 0, (2,3) ink 0.9.
  const candidates = Int32Array.from([0, 0, 1, 2, 3, 4, 2, 3]);
  assert.deepEqual(Array.from(keyPositions(image, 1, candidates, layout, SHAPE)), [2, 3, 1, 2]);
  // A blank image: every ink ties, the first K candidates win.
  const blank = new Float32Array(20);
  assert.deepEqual(Array.from(keyPositions(blank, 1, candidates, layout, SHAPE)), [0, 0, 1, 2]);
});

Deno.test("patches: positions stay inside the margin and are seeded", () => {
  const shape = { height: 12, width: 12, channels: 1 };
  const layout = { count: 3, candidates: 5, size: 4, margin: 2 };
  const a = drawPatchPositions(Stream.derive(1, "p"), 50, layout, shape);
  assert.equal(a.length, 50 * 5 * 2);
  assert.ok(a.every((v) => v >= 2 && v <= 12 - 2 - 4), "inside the margin");
  assert.deepEqual(a, drawPatchPositions(Stream.derive(1, "p"), 50, layout, shape));
  // Every allowed position occurs (2..6 on both axes over 500 draws).
  assert.equal(new Set(a).size, 5);
});

Deno.test("patches: a layout that does not fit is one clear error", () => {
  const shape = { height: 12, width: 12, channels: 1 };
  assert.throws(
    () => checkPatchLayout("puzzle-gan", { count: 3, candidates: 3, size: 8, margin: 3 }, shape),
    (e: Error) => e instanceof UsageError && /patchSize \+ 2·margin ≤ 12/.test(e.message),
  );
  assert.throws(
    () => checkPatchLayout("puzzle-gan", { count: 3, candidates: 2, size: 4, margin: 0 }, shape),
    (e: Error) => e instanceof UsageError && /candidates \(2\)/.test(e.message),
  );
  checkPatchLayout("puzzle-gan", { count: 3, candidates: 3, size: 4, margin: 4 }, shape);
});
