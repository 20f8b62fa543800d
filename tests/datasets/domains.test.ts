import assert from "node:assert/strict";
import { sha256Hex } from "../../datasets/build.ts";
import type { Split } from "../../datasets/dataset.ts";
import {
  applyDomain,
  applyDomainToAll,
  dilate,
  DOMAINS,
  erode,
  getDomain,
  pairedTranslation,
  rotate90,
  unpairedSplit,
} from "../../datasets/domains.ts";
import { loadMnist } from "../../datasets/mnist.ts";

const mnist = await loadMnist();
const D = 784;
const domain = (name: string) => getDomain(name).domain;
const image = (split: Split, i: number) => split.images.subarray(i * D, (i + 1) * D);

Deno.test("domains: morphology and rotation match hand-made 5×5 cases", () => {
  // One bright pixel: dilation is the 3×3 block around it, the outline that block minus it.
  const dot = new Uint8Array(25);
  dot[12] = 200;
  const block = dilate(dot, 5, 5);
  for (let r = 0; r < 5; r++) {
    for (let c = 0; c < 5; c++) {
      const inside = Math.abs(r - 2) <= 1 && Math.abs(c - 2) <= 1;
      assert.equal(block[r * 5 + c], inside ? 200 : 0, `dilation at ${r},${c}`);
    }
  }
  // A 2-pixel vertical bar of 100 at columns 1-2: erosion keeps column 1 (its right and lower
  // neighbours inside the bar), minus the last row, at doubled contrast.
  const bar = new Uint8Array(25);
  for (let r = 0; r < 5; r++) bar[r * 5 + 1] = bar[r * 5 + 2] = 100;
  const thin = erode(bar, 5, 5);
  for (let r = 0; r < 5; r++) {
    for (let c = 0; c < 5; c++) {
      assert.equal(thin[r * 5 + c], c === 1 && r < 4 ? 200 : 0, `erosion at ${r},${c}`);
    }
  }
  // Anticlockwise: the top row becomes the left column, read bottom to top.
  const grid = Uint8Array.from({ length: 9 }, (_, i) => i);
  assert.deepEqual(Array.from(rotate90(grid, 3)), [2, 5, 8, 1, 4, 7, 0, 3, 6]);
  const outline = applyDomain(domain("outlined"), dot, 5, 5);
  assert.equal(outline[12], 0);
  assert.equal(outline.reduce((a, b) => a + b, 0), 8 * 200);
  assert.deepEqual(Array.from(applyDomain(domain("inverted"), dot, 5, 5)).slice(11, 14), [
    255,
    55,
    255,
  ]);
});

Deno.test("domains: deterministic, never change their input, and obey their algebra", () => {
  const x = image(mnist.test, 0).slice();
  const before = x.slice();
  for (const d of DOMAINS) {
    const a = applyDomain(d, x);
    assert.deepEqual(applyDomain(d, x), a, `${d.name} twice`);
    assert.deepEqual(x, before, `${d.name} changed its input`);
  }
  const names = DOMAINS.map((d) => d.name);
  assert.equal(new Set(names).size, names.length);
  for (let i = 0; i < 50; i++) {
    const img = image(mnist.test, i);
    const rot = (y: Uint8Array) => rotate90(y, 28);
    assert.deepEqual(rot(rot(rot(rot(img)))), img, "four rotations are the identity");
    const inv = applyDomain(domain("inverted"), img);
    assert.deepEqual(applyDomain(domain("inverted"), inv), img, "inverting twice");
    const thick = applyDomain(domain("thick"), img);
    assert.ok(thick.every((v, p) => v >= img[p]), "dilation never darkens");
    assert.ok(thick.reduce((a, b) => a + b, 0) > img.reduce((a, b) => a + b, 0));
    const thin = applyDomain(domain("thin"), img);
    const ink = (y: Uint8Array) => y.filter((v) => v >= 128).length;
    assert.ok(ink(thin) < ink(img), `thin has less ink (${ink(thin)} vs ${ink(img)})`);
    assert.ok(ink(thin) > 0.2 * ink(img), "thin keeps the strokes");
    // The composed domains are the composition, in either order of the two commuting steps.
    assert.deepEqual(applyDomain(domain("inverted-rotated"), img), rot(inv));
    assert.deepEqual(
      applyDomain(domain("inverted-rotated"), img),
      applyDomain(domain("inverted"), rot(img)),
    );
    assert.deepEqual(
      applyDomain(domain("thick-inverted"), img),
      applyDomain(domain("inverted"), thick),
    );
  }
});

Deno.test("domains: every pair of domains gives different images of the same digit", () => {
  const img = image(mnist.test, 3);
  const hashes = DOMAINS.map((d) => sha256Hex(applyDomain(d, img)));
  assert.equal(new Set(hashes).size, DOMAINS.length);
});

Deno.test("unpairedSplit: disjoint parts, no image in two domains, deterministic", () => {
  const names = ["original", "inverted", "thick"];
  const parts = unpairedSplit(mnist.train, names.map(domain), 1);
  assert.deepEqual(parts.map((p) => p.domain.name), names);
  const seenRow = new Map<number, string>();
  const seenImage = new Map<string, string>();
  for (const part of parts) {
    // A third of the distinct images each (MNIST repeats only a handful).
    assert.ok(Math.abs(part.count - mnist.train.count / 3) < 50, `${part.count} images`);
    for (let i = 0; i < part.count; i++) {
      const row = part.sourceRows[i];
      assert.equal(seenRow.get(row), undefined, `row ${row} in two domains`);
      seenRow.set(row, part.domain.name);
      const key = sha256Hex(image(mnist.train, row));
      const other = seenImage.get(key);
      assert.ok(other === undefined || other === part.domain.name, `image of row ${row} twice`);
      seenImage.set(key, part.domain.name);
      assert.equal(part.labels[i], mnist.train.labels[row]);
    }
    // Spot-check that each image is its source row through the part's domain.
    for (const i of [0, 1, part.count - 1]) {
      assert.deepEqual(
        part.images.subarray(i * D, (i + 1) * D),
        applyDomain(part.domain, image(mnist.train, part.sourceRows[i])),
      );
    }
  }
  const again = unpairedSplit(mnist.test, names.map(domain), 1);
  assert.deepEqual(again, unpairedSplit(mnist.test, names.map(domain), 1));
  const other = unpairedSplit(mnist.test, names.map(domain), 2);
  assert.notDeepEqual(other[1].sourceRows, again[1].sourceRows);
});

Deno.test("unpairedSplit: duplicate images stay in one domain", () => {
  // Six 2×2 images where rows 0, 2 and 4 are the same picture.
  const pictures = [[9, 9, 9, 9], [1, 0, 0, 0], [9, 9, 9, 9], [0, 2, 0, 0], [9, 9, 9, 9], [
    0,
    0,
    3,
    0,
  ]];
  const split: Split = {
    images: Uint8Array.from(pictures.flat()),
    labels: Uint8Array.from([7, 1, 7, 2, 7, 3]),
    count: 6,
  };
  for (let seed = 1; seed <= 20; seed++) {
    const parts = unpairedSplit(split, [domain("original"), domain("inverted")], seed, 2, 2);
    const holders = parts.filter((p) => [0, 2, 4].some((r) => p.sourceRows.includes(r)));
    assert.ok(holders.length <= 1, `seed ${seed}: the repeated picture in two domains`);
    for (const p of holders) {
      assert.deepEqual(Array.from(p.sourceRows).filter((r) => r % 2 === 0), [0, 2, 4]);
    }
  }
});

Deno.test("pairedTranslation: source and ground truth are the same digits through each domain", () => {
  const pairs = pairedTranslation(mnist.test, domain("thin"), domain("rotated"), 20);
  assert.equal(pairs.count, 20);
  assert.deepEqual(pairs.labels, mnist.test.labels.slice(0, 20));
  const originals = mnist.test.images.subarray(0, 20 * D);
  assert.deepEqual(pairs.source, applyDomainToAll(domain("thin"), originals, 20));
  assert.deepEqual(pairs.target, applyDomainToAll(domain("rotated"), originals, 20));
});

Deno.test("domains: bad input is one clear error", () => {
  assert.throws(
    () => getDomain("blurry"),
    /--domain: unknown domain "blurry" \(expected one of original, /,
  );
  assert.throws(
    () => applyDomain(domain("rotated"), new Uint8Array(6), 2, 3),
    /rotated domain: images must be square, not 2×3/,
  );
  assert.throws(
    () => applyDomain(domain("thick"), new Uint8Array(5)),
    /5 bytes is not one 28×28 image/,
  );
  assert.throws(() => unpairedSplit(mnist.test, [domain("thick")], 1), /at least two domains/);
  assert.throws(
    () => unpairedSplit(mnist.test, [domain("thick"), domain("thick")], 1),
    /the same domain is named twice/,
  );
});
