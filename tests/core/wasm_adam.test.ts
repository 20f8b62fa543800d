/**
 * The fused Adam update on wasm (core/wasm_adam.ts) against tfjs's own Adam on wasm: the same
 * float32 bits over six steps (sizes 1, 7, 48, 185, 4099; the heap grown between steps), on the
 * single-threaded build and on the threaded one (whose heap is shared); and the kernel module
 * can write nothing of its own into the heap it imports (no data segment, no start function).
 */
import assert from "node:assert/strict";
import { wasmBase64 } from "../../core/kernels/adam_wasm.ts";
import { runWithThreads } from "./_wasm_process.ts";
import { wasmBase64 as sharedWasmBase64 } from "../../core/kernels/adam_shared_wasm.ts";

interface Steps {
  bits: string[];
  kernels: string[];
  sharedKept: boolean;
}

/** Runs tests/core/_wasm_adam_run.ts with `threads` (a process each: wasm starts once). */
function run(threads: number) {
  return runWithThreads<{
    threads: number;
    shared: boolean;
    grewBy: number;
    stock: Steps;
    fused: Steps;
  }>(new URL("./_wasm_adam_run.ts", import.meta.url), threads);
}

for (const threads of [1, 2]) {
  Deno.test(`fused Adam on wasm, ${threads} thread(s): tfjs's Adam bit for bit`, async () => {
    const { shared, grewBy, stock, fused, ...rest } = await run(threads);
    assert.equal(rest.threads, threads);
    assert.equal(shared, threads > 1, "the threaded build's heap is a shared memory");
    assert.ok(grewBy >= 1 << 26, `the heap grew by ${grewBy} bytes`);
    // tfjs's 14 kernels per variable, against one fused kernel (ZerosLike: the moments' start).
    assert.deepEqual(stock.kernels, [
      "Add",
      "Multiply",
      "RealDiv",
      "Sqrt",
      "Square",
      "Sub",
      "ZerosLike",
    ]);
    assert.deepEqual(fused.kernels, ["GenbenchAdamBetas", "GenbenchAdamUpdate", "ZerosLike"]);
    assert.equal(fused.bits.length, 3 * 5 + 2); // values, m, v of 5 variables; β1ᵗ, β2ᵗ
    fused.bits.forEach((bits, i) => assert.ok(bits === stock.bits[i], `result ${i} differs`));
    // Fresh outputs: a tensor sharing a variable's old data keeps its values.
    assert.ok(stock.sharedKept && fused.sharedKept);
  });
}

/** The ids of a WebAssembly binary's sections, in order. */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let p = 8; // magic and version
  while (p < bytes.length) {
    ids.push(bytes[p++]);
    let size = 0, shift = 0, byte;
    do {
      byte = bytes[p++];
      size += (byte & 127) * 2 ** shift;
      shift += 7;
    } while (byte & 128);
    p += size;
  }
  return ids;
}

Deno.test("fused Adam's kernel module imports a memory and brings no data into it", () => {
  for (const [base64, shared] of [[wasmBase64, false], [sharedWasmBase64, true]] as const) {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const module = new WebAssembly.Module(bytes);
    assert.deepEqual(WebAssembly.Module.imports(module), [
      { module: "env", name: "memory", kind: "memory" },
    ]);
    const ids = sectionIds(bytes);
    for (const [id, what] of [[8, "start"], [11, "data"], [12, "data count"]] as const) {
      assert.ok(!ids.includes(id), `${what} section in the ${shared ? "shared" : "plain"} build`);
    }
    // It instantiates on a memory of either kind, as tfjs-wasm's builds make them.
    const memory = shared
      ? new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true })
      : new WebAssembly.Memory({ initial: 1 });
    new WebAssembly.Instance(module, { env: { memory } });
    assert.ok(new Uint8Array(memory.buffer).every((b) => b === 0));
  }
});
