/// <reference lib="webworker" />
/** The batch worker entry: its own ONNX Runtime instance, off the main thread and the viewer's worker. */
import { BatchStore } from '../batch/idb-store';
import { readImageFiles } from '../core/io/read-any';
import { configure } from '../runtime/ort-env';
import { wasmUrls } from '../runtime/ort-wasm-urls';
import { codecWasmUrls } from '../codecs/wasm-urls';
import { cornerstoneFrameDecoder, setCodecWasmUrls } from '../codecs/dicom-codecs';
import { BatchHost } from './batch-host';
import type { BatchRequest } from './batch-protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;
setCodecWasmUrls(codecWasmUrls(scope.location.href));
const host = new BatchHost(
  (e) => {
    scope.postMessage(e);
  },
  (files) => readImageFiles(files, { decoder: cornerstoneFrameDecoder }),
  new BatchStore(),
  (threads, paths) => {
    configure(threads, paths ?? wasmUrls(scope.location.href));
  },
);
scope.onmessage = (ev: MessageEvent<BatchRequest>) => {
  void host.handle(ev.data);
};
