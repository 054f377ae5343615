/// <reference lib="webworker" />
/**
 * The worker entry for the inference worker (encoders on all threads; everything under WebGPU) and for
 * the per-model decoder workers (the same host, initialised with one thread; see client.ts).
 */
import { InferenceHost } from './host';
import { wasmUrls } from './ort-wasm-urls';
import type { RequestEnvelope } from './protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const host = new InferenceHost((msg, transfer) => {
  scope.postMessage(msg, transfer);
});

scope.onmessage = (ev: MessageEvent<RequestEnvelope>) => {
  const env = ev.data;
  if (env.req.kind === 'init' && !env.req.wasmPaths) {
    host.handle({ id: env.id, req: { ...env.req, wasmPaths: wasmUrls(scope.location.href) } });
    return;
  }
  host.handle(env);
};
