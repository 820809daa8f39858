/**
 * Finds onnxruntime-web's wasm heap without reaching into its internals: every WebAssembly.Memory
 * made from now on (threaded Emscripten builds create it in JS) and every memory a module exports
 * (non-threaded builds) is remembered, and its current byte length read at the end. A wasm heap
 * only grows, so its size at the end is its peak. Call installWasmMemoryProbe() before the runtime
 * loads its wasm.
 */
const seen = new Set<WebAssembly.Memory>();

function remember(exports: WebAssembly.Exports | undefined): void {
  if (!exports) return;
  for (const v of Object.values(exports)) if (v instanceof WebAssembly.Memory) seen.add(v);
}

let installed = false;

export function installWasmMemoryProbe(): void {
  if (installed) return;
  installed = true;
  const W = WebAssembly as unknown as Record<string, unknown>;
  const OrigMemory = WebAssembly.Memory;
  // A subclass keeps `instanceof WebAssembly.Memory` true for the runtime's own checks.
  class ProbedMemory extends OrigMemory {
    constructor(desc: WebAssembly.MemoryDescriptor) {
      super(desc);
      seen.add(this);
    }
  }
  W.Memory = ProbedMemory;

  const origInstantiate = WebAssembly.instantiate.bind(WebAssembly);
  W.instantiate = async (...args: Parameters<typeof WebAssembly.instantiate>) => {
    // The overloads return either an Instance or {module, instance}; both are handled below.
    const r = (await origInstantiate(...args)) as unknown as WebAssembly.Instance | WebAssembly.WebAssemblyInstantiatedSource;
    remember('instance' in r ? r.instance.exports : r.exports);
    return r;
  };
  if (typeof WebAssembly.instantiateStreaming === 'function') {
    const origStreaming = WebAssembly.instantiateStreaming.bind(WebAssembly);
    W.instantiateStreaming = async (...args: Parameters<typeof WebAssembly.instantiateStreaming>) => {
      const r = await origStreaming(...args);
      remember(r.instance.exports);
      return r;
    };
  }
}

/** Byte length of each wasm memory seen (largest first). */
export function wasmHeapBytes(): number[] {
  return [...seen].map((m) => m.buffer.byteLength).sort((a, b) => b - a);
}
