/**
 * MNIST domains with ground truth, for translation models (CycleGAN, StarGAN) and Text2Image.
 *
 * Each domain is a fixed, deterministic, label-preserving function of a grey digit image
 * (0..255 bytes, white strokes on black): the same digit drawn differently. Because every
 * domain is a known function of the original digit, a test digit translated from domain A to
 * domain B has a true answer, B(x), which unpaired translation benchmarks on natural images
 * never have.
 *
 * A domain is a set of attributes applied in a fixed order: the stroke operation (thick,
 * thin or outlined), then the 90° rotation, then the inversion, so that "inverted, rotated"
 * and "rotated, inverted" name the same function. The morphology is grey-scale (max or min
 * over a neighbourhood), which keeps MNIST's anti-aliased edges.
 */
import { UsageError } from "../core/errors.ts";
import { Stream } from "../core/rng.ts";
import { Buffer } from "node:buffer";
import { gatherRows } from "./build.ts";
import type { Split } from "./dataset.ts";

/** What a domain does to the digit; a domain is a set of these. */
export type Attribute = "thick" | "thin" | "outlined" | "rotated" | "inverted";

/** The application order of the attributes (stroke, then geometry, then colour). */
export const ATTRIBUTE_ORDER: readonly Attribute[] = [
  "thick",
  "thin",
  "outlined",
  "rotated",
  "inverted",
];

/** A named domain: its attributes and what it looks like. */
export interface Domain {
  name: string;
  attributes: readonly Attribute[];
  description: string;
}

/**
 * The domains, in the fixed order that the domain classifier's class index follows. The six
 * single ones the source material asks for, plus two compositions for captions such as
 * "an inverted, rotated 3".
 */
export const DOMAINS: readonly Domain[] = [
  { name: "original", attributes: [], description: "the MNIST digit as it is" },
  { name: "inverted", attributes: ["inverted"], description: "255 − pixel: dark strokes on white" },
  { name: "thick", attributes: ["thick"], description: "grey-scale dilation, 3×3 square" },
  {
    name: "thin",
    attributes: ["thin"],
    description: "grey-scale erosion, 2×2 square, contrast doubled",
  },
  { name: "rotated", attributes: ["rotated"], description: "rotated 90° anticlockwise" },
  {
    name: "outlined",
    attributes: ["outlined"],
    description: "dilation minus the digit (3×3 square): a hollow outline of the strokes",
  },
  {
    name: "inverted-rotated",
    attributes: ["rotated", "inverted"],
    description: "rotated 90° anticlockwise, then inverted",
  },
  {
    name: "thick-inverted",
    attributes: ["thick", "inverted"],
    description: "dilated, then inverted",
  },
];

/** The names of {@link DOMAINS}, in class-index order. */
export const DOMAIN_NAMES: readonly string[] = DOMAINS.map((d) => d.name);

/** The domain called `name` and its class index, or a one-line error naming `what`. */
export function getDomain(name: string, what = "--domain"): { domain: Domain; index: number } {
  const index = DOMAIN_NAMES.indexOf(name);
  if (index < 0) {
    throw new UsageError(
      `${what}: unknown domain "${name}" (expected one of ${DOMAIN_NAMES.join(", ")})`,
    );
  }
  return { domain: DOMAINS[index], index };
}

/** 3×3 square and 2×2 square neighbourhoods (row, column offsets, the centre included). */
const SQUARE: readonly [number, number][] = [-1, 0, 1].flatMap((r) =>
  [-1, 0, 1].map((c) => [r, c] as [number, number])
);
const CORNER: readonly [number, number][] = [[0, 0], [0, 1], [1, 0], [1, 1]];

/**
 * Grey-scale morphology: the max (dilation) or min (erosion) over the neighbourhood. Pixels
 * outside the image count as background (0), so erosion thins strokes at the border too.
 */
function morphology(
  image: Uint8Array,
  height: number,
  width: number,
  offsets: readonly [number, number][],
  op: "max" | "min",
): Uint8Array {
  const out = new Uint8Array(height * width);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      let value = op === "max" ? 0 : 255;
      for (const [dr, dc] of offsets) {
        const rr = r + dr;
        const cc = c + dc;
        const v = rr < 0 || rr >= height || cc < 0 || cc >= width ? 0 : image[rr * width + cc];
        value = op === "max" ? Math.max(value, v) : Math.min(value, v);
      }
      out[r * width + c] = value;
    }
  }
  return out;
}

/** Grey-scale dilation with a 3×3 square. */
export function dilate(image: Uint8Array, height: number, width: number): Uint8Array {
  return morphology(image, height, width, SQUARE, "max");
}

/**
 * Grey-scale erosion with a 2×2 square (each pixel and its right, lower and lower-right
 * neighbours), so strokes lose one pixel of width, then contrast doubled (clipped at 255),
 * because what is left of an anti-aliased 2-pixel stroke is a dim 1-pixel line. A 3×3
 * erosion would erase MNIST's 2-pixel strokes.
 */
export function erode(image: Uint8Array, height: number, width: number): Uint8Array {
  return morphology(image, height, width, CORNER, "min").map((v) => Math.min(255, 2 * v));
}

/** Rotation by 90° anticlockwise of a square image: out[r][c] = in[c][side − 1 − r]. */
export function rotate90(image: Uint8Array, side: number): Uint8Array {
  const out = new Uint8Array(side * side);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) out[r * side + c] = image[c * side + (side - 1 - r)];
  }
  return out;
}

/** One attribute applied to one image (a new array; the input is never changed). */
function applyAttribute(
  attribute: Attribute,
  image: Uint8Array,
  height: number,
  width: number,
): Uint8Array {
  switch (attribute) {
    case "thick":
      return dilate(image, height, width);
    case "thin":
      return erode(image, height, width);
    case "outlined": {
      const out = dilate(image, height, width);
      for (let i = 0; i < out.length; i++) out[i] -= image[i];
      return out;
    }
    case "rotated":
      if (height !== width) {
        throw new UsageError(`rotated domain: images must be square, not ${height}×${width}`);
      }
      return rotate90(image, height);
    case "inverted":
      return image.map((v) => 255 - v);
  }
}

/** The domain's function on one height×width grey image (0..255 bytes); a new array. */
export function applyDomain(
  domain: Domain,
  image: Uint8Array,
  height = 28,
  width = 28,
): Uint8Array {
  if (image.length !== height * width) {
    throw new UsageError(
      `domain ${domain.name}: ${image.length} bytes is not one ${height}×${width} image`,
    );
  }
  let out: Uint8Array = image.slice();
  for (const attribute of ATTRIBUTE_ORDER) {
    if (domain.attributes.includes(attribute)) out = applyAttribute(attribute, out, height, width);
  }
  return out;
}

/** The domain's function on every image of a [count × height·width] byte matrix. */
export function applyDomainToAll(
  domain: Domain,
  images: Uint8Array,
  count: number,
  height = 28,
  width = 28,
): Uint8Array {
  const d = height * width;
  if (images.length < count * d) {
    throw new UsageError(
      `domain ${domain.name}: ${images.length} bytes hold fewer than ${count} images`,
    );
  }
  const out = new Uint8Array(count * d);
  for (let i = 0; i < count; i++) {
    out.set(applyDomain(domain, images.subarray(i * d, (i + 1) * d), height, width), i * d);
  }
  return out;
}

/** One domain's share of an unpaired split: its images, their digits, and their source rows. */
export interface DomainSplit extends Split {
  domain: Domain;
  /** The rows of the source split these images were made from (ascending). */
  sourceRows: Uint32Array;
}

/**
 * Unpaired training data: the distinct images of `split` are shuffled with the seeded stream
 * and dealt into `domains.length` disjoint, equal parts, each put through its domain. Exact
 * duplicate images of the source split (MNIST has a few) stay together in one part, so no
 * digit image is ever seen in two domains. Images left over by the equal division are unused.
 */
export function unpairedSplit(
  split: Split,
  domains: readonly Domain[],
  seed: number,
  height = 28,
  width = 28,
): DomainSplit[] {
  if (domains.length < 2) throw new UsageError("unpaired split: need at least two domains");
  const names = new Set(domains.map((d) => d.name));
  if (names.size !== domains.length) {
    throw new UsageError("unpaired split: the same domain is named twice");
  }
  const d = height * width;
  // Group rows by content so that duplicates are dealt as one.
  const groups = new Map<string, number[]>();
  for (let row = 0; row < split.count; row++) {
    // The bytes themselves as the key (latin1 maps each byte to one character, injectively).
    const key = Buffer.from(split.images.buffer, split.images.byteOffset + row * d, d)
      .toString("latin1");
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  const list = [...groups.values()];
  const order = Stream.derive(seed, `domains/unpaired/${[...names].join("+")}`)
    .permutation(list.length);
  const per = Math.floor(list.length / domains.length);
  return domains.map((domain, k) => {
    const rows = Uint32Array.from(
      Array.from(order.subarray(k * per, (k + 1) * per)).flatMap((g) => list[g]),
    ).sort();
    const source = gatherRows(split.images, d, rows);
    return {
      domain,
      images: applyDomainToAll(domain, source, rows.length, height, width),
      labels: Uint8Array.from(rows, (row) => split.labels[row]),
      count: rows.length,
      sourceRows: rows,
    };
  });
}

/**
 * A paired test set for translating `from` → `to`: the inputs from(x), the ground truth
 * to(x), and the digits, for the first `count` images x of `split`. Never used for training.
 */
export function pairedTranslation(
  split: Split,
  from: Domain,
  to: Domain,
  count = split.count,
  height = 28,
  width = 28,
): { source: Uint8Array; target: Uint8Array; labels: Uint8Array; count: number } {
  const n = Math.min(count, split.count);
  const original = split.images.subarray(0, n * height * width);
  return {
    source: applyDomainToAll(from, original, n, height, width),
    target: applyDomainToAll(to, original, n, height, width),
    labels: split.labels.slice(0, n),
    count: n,
  };
}

/**
 * Translates `count` images ([count × H·W] in [0, 1]) from domain `from` to domain `to`
 * (DOMAINS indices). `rows` are the test rows the images came from: a model must ignore them;
 * only the ground-truth oracle of the tests reads them.
 */
export type Translator = (
  images: Float32Array,
  count: number,
  from: number,
  to: number,
  rows: Uint32Array,
) => Promise<Float32Array>;
