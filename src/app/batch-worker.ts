/// <reference lib="webworker" />
/** The batch worker entry: its own ONNX Runtime instance, off the main thread and the viewer's worker. */
import { BatchStore } from '../batch/idb-store';
import { toAppError } from '../core/errors';
import { readImageFiles } from '../core/io/read-any';
import type { BridgeMessage, RequestEnvelope, ResponseEnvelope } from '../runtime/bridge';
import { configure } from '../runtime/ort-env';
import { wasmUrls } from '../runtime/ort-wasm-urls';
import { codecWasmUrls } from '../codecs/wasm-urls';
import { cornerstoneFrameDecoder, setCodecWasmUrls } from '../codecs/dicom-codecs';
import { BatchHost } from './batch-host';
import type { BatchEvent, BatchRequest } from './batch-protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
setCodecWasmUrls(codecWasmUrls(scope.location.href));
const host = new BatchHost(
  (ev) => {
    scope.postMessage({ ev } satisfies BridgeMessage<BatchEvent>);
  },
  (files) => readImageFiles(files, { decoder: cornerstoneFrameDecoder }),
  new BatchStore(),
  (threads, paths) => {
    configure(threads, paths ?? wasmUrls(scope.location.href));
  },
);
// Each request is answered once, by id (runtime/bridge.ts); a failure travels as a typed error.
scope.onmessage = (ev: MessageEvent<RequestEnvelope<BatchRequest>>) => {
  const { id, req } = ev.data;
  host.handle(req).then(
    (result) => {
      scope.postMessage({ id, ok: true, result } satisfies ResponseEnvelope);
    },
    (e: unknown) => {
      scope.postMessage({
        id,
        ok: false,
        error: toAppError(e, 'internal', 'Batch').toJSON(),
      } satisfies ResponseEnvelope);
    },
  );
};
