/**
 * Captions for Text2Image over the MNIST domains: sentences from a small grammar over the
 * digit and its domain's attributes ("a thick seven", "an inverted, rotated 3"). Each caption
 * keeps its digit and domain, so a generated image can be scored against what was asked.
 *
 * Phrasings (templates) are split: the training phrasings and the held-out ones share every
 * word but order them differently, so a test caption is new as a sentence but not in its
 * vocabulary (a text encoder has seen each of its words). The digit is written as a numeral
 * or a word, each attribute by one of two synonyms, and a two-attribute domain in both orders.
 */
import { UsageError } from "../core/errors.ts";
import type { Stream } from "../core/rng.ts";
import type { Split } from "./dataset.ts";
import { applyDomain, type Attribute, DOMAINS } from "./domains.ts";

/** Which phrasings: the training ones, or those held out for test. */
export type CaptionPart = "train" | "test";

const DIGIT_WORDS = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
];

/** Two synonyms per attribute; the original domain is "plain" (never an empty phrase). */
export const ATTRIBUTE_WORDS: Record<Attribute | "plain", readonly string[]> = {
  plain: ["plain", "normal"],
  thick: ["thick", "bold"],
  thin: ["thin", "slender"],
  outlined: ["outlined", "hollow"],
  rotated: ["rotated", "sideways"],
  inverted: ["inverted", "negative"],
};

/** The slots a phrasing fills: article, adjectives (comma- or and-joined), the digit. */
interface Slots {
  a: string;
  commaAdjectives: string;
  andAdjectives: string;
  digit: string;
}

/** The phrasings, by index. */
const TEMPLATES: readonly ((s: Slots) => string)[] = [
  (s) => `${s.a} ${s.commaAdjectives} ${s.digit}`,
  (s) => `the digit ${s.digit}, ${s.andAdjectives}`,
  (s) => `this is ${s.a} ${s.commaAdjectives} ${s.digit}`,
  (s) => `${s.a} ${s.digit} drawn ${s.andAdjectives}`,
  // Held out: words from the phrasings above, in orders none of them uses.
  (s) => `${s.a} ${s.andAdjectives} digit ${s.digit}`,
  (s) => `${s.digit}, ${s.andAdjectives}`,
];

/** The template indices of each part. */
export const CAPTION_TEMPLATES: Record<CaptionPart, readonly number[]> = {
  train: [0, 1, 2, 3],
  test: [4, 5],
};

/** "an" before a vowel sound ("an inverted", "an eight", "an 8"), else "a" ("a one"). */
function article(next: string): string {
  return /^(8|eight|[aei]|o(?!ne)|u)/.test(next) ? "an" : "a";
}

/** All adjective sequences for a domain: one synonym per attribute, every order. */
function adjectiveSequences(attributes: readonly Attribute[]): string[][] {
  const names: (Attribute | "plain")[] = attributes.length ? [...attributes] : ["plain"];
  const orders = names.length === 1 ? [names] : permutations(names);
  const out: string[][] = [];
  for (const order of orders) {
    let sequences: string[][] = [[]];
    for (const name of order) {
      sequences = sequences.flatMap((seq) => ATTRIBUTE_WORDS[name].map((w) => [...seq, w]));
    }
    out.push(...sequences);
  }
  return out;
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest])
  );
}

function checkArgs(digit: number, domain: number): void {
  if (!Number.isInteger(digit) || digit < 0 || digit > 9) {
    throw new UsageError(`captions: digit ${digit} is not 0-9`);
  }
  if (!Number.isInteger(domain) || domain < 0 || domain >= DOMAINS.length) {
    throw new UsageError(`captions: domain index ${domain} is not 0-${DOMAINS.length - 1}`);
  }
}

/** Every caption of `part` for the digit in domain `domain` (an index into DOMAINS). */
export function allCaptions(digit: number, domain: number, part: CaptionPart): string[] {
  checkArgs(digit, domain);
  const out: string[] = [];
  for (const t of CAPTION_TEMPLATES[part]) {
    for (const digitWord of [String(digit), DIGIT_WORDS[digit]]) {
      for (const adjectives of adjectiveSequences(DOMAINS[domain].attributes)) {
        const slots = {
          commaAdjectives: adjectives.join(", "),
          andAdjectives: adjectives.join(" and "),
          digit: digitWord,
        };
        // The article agrees with the word that follows it in this phrasing.
        const next = t === 3 ? digitWord : adjectives[0];
        out.push(TEMPLATES[t]({ ...slots, a: article(next) }));
      }
    }
  }
  return out;
}

/** One caption of `part` for the digit in domain `domain`, drawn uniformly with `stream`. */
export function sampleCaption(
  stream: Stream,
  digit: number,
  domain: number,
  part: CaptionPart,
): string {
  const captions = allCaptions(digit, domain, part);
  return captions[stream.int(captions.length)];
}

/** Lower-case words, punctuation dropped ("an inverted, rotated 3" → an|inverted|rotated|3). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().split(/[^a-z0-9-]+/).filter(Boolean);
}

/** Index 0 pads a caption, index 1 stands for a word the vocabulary lacks. */
export const PAD = 0;
export const UNKNOWN = 1;

/** The sorted words of every training caption (ids start at 2, after PAD and UNKNOWN). */
export function captionVocabulary(): string[] {
  const words = new Set<string>();
  for (let digit = 0; digit < 10; digit++) {
    for (let domain = 0; domain < DOMAINS.length; domain++) {
      for (const caption of allCaptions(digit, domain, "train")) {
        for (const word of tokenize(caption)) words.add(word);
      }
    }
  }
  return [...words].sort();
}

/** Word ids of a caption, padded with PAD (or cut) to `length`. */
export function encodeCaption(
  text: string,
  vocabulary: readonly string[],
  length: number,
): Int32Array {
  const ids = new Int32Array(length);
  tokenize(text).slice(0, length).forEach((word, i) => {
    const index = vocabulary.indexOf(word);
    ids[i] = index < 0 ? UNKNOWN : index + 2;
  });
  return ids;
}

/** Images with captions: each digit through a drawn domain, and a drawn caption of `part`. */
export interface CaptionedSplit extends Split {
  /** DOMAINS index of each image. */
  domains: Uint8Array;
  captions: string[];
}

/**
 * Caption the first `count` images of `split`: each gets a domain (uniform over DOMAINS) and a
 * caption of `part`, both drawn from `stream`; the image is put through that domain.
 */
export function captionSplit(
  split: Split,
  part: CaptionPart,
  stream: Stream,
  count = split.count,
  height = 28,
  width = 28,
): CaptionedSplit {
  const n = Math.min(count, split.count);
  const d = height * width;
  const images = new Uint8Array(n * d);
  const domains = new Uint8Array(n);
  const captions: string[] = [];
  for (let i = 0; i < n; i++) {
    domains[i] = stream.int(DOMAINS.length);
    const image = split.images.subarray(i * d, (i + 1) * d);
    images.set(applyDomain(DOMAINS[domains[i]], image, height, width), i * d);
    captions.push(sampleCaption(stream, split.labels[i], domains[i], part));
  }
  return { images, labels: split.labels.slice(0, n), count: n, domains, captions };
}
