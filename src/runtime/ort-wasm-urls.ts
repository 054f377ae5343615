/**
 * Absolute URLs of onnxruntime-web's runtime files in the production build, resolved against `base`
 * (the worker's location). Browser bundles only (Vite `?url` imports): they are set explicitly because,
 * resolved from a bundled worker chunk, ORT's pthread workers deadlock (stack-notes.md).
 */
import wasmMjs from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url';
import wasmBin from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';

export function wasmUrls(base: string): { mjs: string; wasm: string } {
  return { mjs: new URL(wasmMjs, base).href, wasm: new URL(wasmBin, base).href };
}
