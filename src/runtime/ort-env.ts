/** onnxruntime-web's global settings, set once per JS context (worker) before the first session. */
import * as ort from 'onnxruntime-web';
import wasmMjs from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url';
import wasmBin from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';

/**
 * Absolute URLs of the runtime files, resolved against `base` (the worker's location). They are set
 * explicitly: resolved from a bundled worker chunk, ORT's pthread workers deadlock (stack-notes.md).
 */
export function wasmUrls(base: string): { mjs: string; wasm: string } {
  return { mjs: new URL(wasmMjs, base).href, wasm: new URL(wasmBin, base).href };
}

export function configure(
  threads: number,
  wasmPaths?: { readonly mjs: string; readonly wasm: string },
): void {
  ort.env.wasm.numThreads = Math.max(1, Math.floor(threads));
  if (wasmPaths) ort.env.wasm.wasmPaths = { mjs: wasmPaths.mjs, wasm: wasmPaths.wasm };
}
