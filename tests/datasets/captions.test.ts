import assert from "node:assert/strict";
import { Stream } from "../../core/rng.ts";
import {
  allCaptions,
  ATTRIBUTE_WORDS,
  CAPTION_TEMPLATES,
  captionSplit,
  captionVocabulary,
  encodeCaption,
  PAD,
  tokenize,
  UNKNOWN,
} from "../../datasets/captions.ts";
import type { Split } from "../../datasets/dataset.ts";
import { applyDomain, DOMAINS } from "../../datasets/domains.ts";

/** Every caption of a part, with the digit and domain it was made for. */
function everyCaption(part: "train" | "test"): { text: string; digit: number; domain: number }[] {
  const out = [];
  for (let digit = 0; digit < 10; digit++) {
    for (let domain = 0; domain < DOMAINS.length; domain++) {
      for (const text of allCaptions(digit, domain, part)) out.push({ text, digit, domain });
    }
  }
  return out;
}

const train = everyCaption("train");
const test = everyCaption("test");

Deno.test("captions: held-out phrasings never appear in training, as text or as words", () => {
  assert.equal(
    new Set([...CAPTION_TEMPLATES.train, ...CAPTION_TEMPLATES.test]).size,
    CAPTION_TEMPLATES.train.length + CAPTION_TEMPLATES.test.length,
  );
  const trainTexts = new Set(train.map((c) => c.text));
  const trainTokens = new Set(train.map((c) => tokenize(c.text).join(" ")));
  for (const { text } of test) {
    assert.ok(!trainTexts.has(text), `"${text}" is also a training caption`);
    assert.ok(!trainTokens.has(tokenize(text).join(" ")), `"${text}" differs only in punctuation`);
  }
  // New sentences, known words: a text encoder has seen every word of every test caption.
  const vocabulary = new Set(captionVocabulary());
  for (const { text } of test) {
    for (const word of tokenize(text)) assert.ok(vocabulary.has(word), `"${word}" of "${text}"`);
  }
});

Deno.test("captions: each names its digit and domain, and no caption fits two", () => {
  const owner = new Map<string, string>();
  for (const { text, digit, domain } of [...train, ...test]) {
    const key = `${digit}/${DOMAINS[domain].name}`;
    const previous = owner.get(text);
    assert.ok(previous === undefined || previous === key, `"${text}": ${previous} and ${key}`);
    owner.set(text, key);
    const words = tokenize(text);
    const names = DOMAINS[domain].attributes.length ? DOMAINS[domain].attributes : ["plain"];
    for (const name of names) {
      const synonyms = ATTRIBUTE_WORDS[name as keyof typeof ATTRIBUTE_WORDS];
      assert.ok(words.some((w) => synonyms.includes(w)), `"${text}" lacks ${name}`);
    }
  }
  // Several phrasings each: 4 training and 2 held-out templates, numeral or word, synonyms.
  assert.equal(allCaptions(7, 2, "train").length, 4 * 2 * 2);
  assert.equal(allCaptions(3, 6, "test").length, 2 * 2 * 8);
});

Deno.test("captions: the grammar's examples and articles", () => {
  const inverted = DOMAINS.findIndex((d) => d.name === "inverted-rotated");
  const thick = DOMAINS.findIndex((d) => d.name === "thick");
  assert.ok(allCaptions(3, inverted, "train").includes("an inverted, rotated 3"));
  assert.ok(allCaptions(7, thick, "train").includes("a thick seven"));
  assert.ok(allCaptions(8, 0, "train").includes("an eight drawn plain"));
  assert.ok(allCaptions(8, 0, "train").includes("an 8 drawn normal"));
  assert.ok(allCaptions(1, 0, "train").includes("a one drawn normal"));
  assert.ok(allCaptions(3, inverted, "test").includes("a sideways and negative digit three"));
  assert.throws(() => allCaptions(10, 0, "train"), /digit 10 is not 0-9/);
  assert.throws(() => allCaptions(1, DOMAINS.length, "train"), /domain index 8 is not 0-7/);
});

Deno.test("encodeCaption: word ids after PAD and UNKNOWN, padded or cut", () => {
  const vocabulary = captionVocabulary();
  const ids = encodeCaption("An inverted, purple 3", vocabulary, 6);
  assert.deepEqual(Array.from(ids), [
    vocabulary.indexOf("an") + 2,
    vocabulary.indexOf("inverted") + 2,
    UNKNOWN,
    vocabulary.indexOf("3") + 2,
    PAD,
    PAD,
  ]);
  assert.equal(encodeCaption("the digit 3, thick", vocabulary, 2).length, 2);
});

Deno.test("captionSplit: each image is its digit through its domain, the caption says so", () => {
  const split: Split = {
    images: Uint8Array.from({ length: 3 * 784 }, (_, i) => (i * 7) % 256),
    labels: Uint8Array.from([4, 0, 9]),
    count: 3,
  };
  const a = captionSplit(split, "test", Stream.derive(1, "captions"));
  assert.deepEqual(a, captionSplit(split, "test", Stream.derive(1, "captions")));
  for (let i = 0; i < 3; i++) {
    const original = split.images.subarray(i * 784, (i + 1) * 784);
    assert.deepEqual(
      a.images.subarray(i * 784, (i + 1) * 784),
      applyDomain(DOMAINS[a.domains[i]], original),
    );
    assert.ok(allCaptions(split.labels[i], a.domains[i], "test").includes(a.captions[i]));
  }
});
