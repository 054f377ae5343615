/** onnxruntime-web's global settings, set once per JS context (worker) before the first session. */
import * as ort from 'onnxruntime-web';

export function configure(
  threads: number,
  wasmPaths?: { readonly mjs: string; readonly wasm: string },
): void {
  ort.env.wasm.numThreads = Math.max(1, Math.floor(threads));
  if (wasmPaths) ort.env.wasm.wasmPaths = { mjs: wasmPaths.mjs, wasm: wasmPaths.wasm };
}
