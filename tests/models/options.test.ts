/**
 * Option schemas and published references as data: the reader `create()` uses (defaults,
 * checks, one-line errors), and every registered model's schema and references are well formed.
 */
import assert from "node:assert/strict";
import { UsageError } from "../../core/errors.ts";
import { METRICS } from "../../metrics/metric.ts";
import { MODELS } from "../../models/registry.ts";
import {
  checkOption,
  defaultOptions,
  describeOption,
  type OptionSchema,
  readOptions,
} from "../../models/options.ts";

const SCHEMA = {
  bits: { type: "int", default: 1, choices: [1, 8], doc: "bits per pixel" },
  beta1: { type: "number", default: 0.5, min: 0, below: 1, doc: "Adam β1" },
  loss: { type: "string", default: "a", choices: ["a", "b"], doc: "loss" },
} satisfies OptionSchema;

/** The one-line UsageError `fn` throws. */
function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    assert.ok(!e.message.includes("\n"));
    return e.message;
  }
  throw new Error("no error");
}

Deno.test("readOptions fills defaults, parses strings, ignores keys outside the schema", () => {
  assert.deepEqual(readOptions("m", SCHEMA, {}), { bits: 1, beta1: 0.5, loss: "a" });
  const values = readOptions("m", SCHEMA, { bits: "8", beta1: 0, loss: "b", other: 3 });
  assert.deepEqual(values, { bits: 8, beta1: 0, loss: "b" });
});

Deno.test("readOptions refuses bad values in one line naming model, key and expectation", () => {
  assert.equal(
    message(() => readOptions("m", SCHEMA, { bits: 4 })),
    "m: option bits: expected one of 1, 8 (got 4)",
  );
  assert.equal(
    message(() => readOptions("m", SCHEMA, { beta1: 1 })),
    "m: option beta1: expected a number ≥ 0 and < 1 (got 1)",
  );
  assert.equal(
    message(() => readOptions("m", SCHEMA, { loss: "c" })),
    'm: option loss: expected one of a, b (got "c")',
  );
  assert.match(message(() => readOptions("m", SCHEMA, { bits: 1.5 })), /expected one of 1, 8/);
});

Deno.test("below is a strict bound; describeOption says so", () => {
  const spec = SCHEMA.beta1;
  assert.equal(checkOption(spec, 0.999, "x"), 0.999);
  assert.throws(() => checkOption(spec, 1, "x"), UsageError);
  assert.equal(describeOption(spec), "a number ≥ 0 and < 1");
});

Deno.test("every registered model declares options whose defaults pass their own checks", () => {
  for (const spec of MODELS) {
    for (const [key, option] of Object.entries(spec.options)) {
      assert.ok(option.doc.length > 0, `${spec.name}.${key}: no doc`);
      assert.deepEqual(
        checkOption(option, option.default, `${spec.name}.${key}`),
        option.default,
        `${spec.name}.${key}`,
      );
    }
    assert.ok("batchSize" in spec.options, `${spec.name}: no batchSize option`);
    assert.ok(Object.keys(defaultOptions(spec.options)).length > 0, spec.name);
  }
});

Deno.test("published references name a genbench metric, a unit and a status", () => {
  for (const spec of MODELS) {
    for (const ref of spec.references ?? []) {
      const where = `${spec.name}: ${ref.paper}`;
      assert.ok(ref.metric in METRICS, `${where}: unknown metric ${ref.metric}`);
      assert.ok(ref.unit === METRICS[ref.metric].unit, `${where}: unit ${ref.unit}`);
      assert.ok(Number.isFinite(ref.value) && ref.value > 0, where);
      assert.ok(["confirmed", "unconfirmed"].includes(ref.status), where);
      assert.ok(ref.kind.length > 0 && ref.paper.length > 0, where);
    }
  }
});
