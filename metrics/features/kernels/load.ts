/**
 * The instance of a WebAssembly kernel committed as base64 (written by scripts/build_kernels.ts),
 * compiled on first use and kept.
 */
export function kernelLoader<T>(base64: string): () => T {
  let instance: T | undefined;
  return () => {
    if (!instance) {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { abort() {} } })
        .exports as unknown as T;
    }
    return instance;
  };
}
