/// <reference lib="webworker" />
/**
 * The inference worker entry: one dedicated worker owns every ONNX Runtime session.
 * The wasm runtime files are imported as URLs and set explicitly: resolved from the worker chunk's own
 * URL, ORT's pthread workers deadlock in the production build (stack-notes.md).
 */
import wasmMjs from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url';
import wasmBin from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import { InferenceHost } from './host';
import type { RequestEnvelope } from './protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const host = new InferenceHost((msg, transfer) => {
  scope.postMessage(msg, transfer);
});

scope.onmessage = (ev: MessageEvent<RequestEnvelope>) => {
  const env = ev.data;
  if (env.req.kind === 'init' && !env.req.wasmPaths) {
    host.handle({
      id: env.id,
      req: {
        ...env.req,
        wasmPaths: {
          mjs: new URL(wasmMjs, scope.location.href).href,
          wasm: new URL(wasmBin, scope.location.href).href,
        },
      },
    });
    return;
  }
  host.handle(env);
};
