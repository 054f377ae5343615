/**
 * Composition root: builds the engines (capability probe, inference worker client, comparison engine
 * with its viewer) and injects them into the React tree. Nothing below app/ constructs them.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { DEFAULT_MODEL_HOST } from '../core/models/registry';
import { probeCapabilities } from '../runtime/capabilities';
import { startInferenceWorker } from '../runtime/create-worker';
import { useRuntimeStore } from '../state/runtime';
import { App } from '../ui/App';
import { ActionsContext, BatchActionsContext } from '../ui/context';
import { BatchEngine } from './batch-engine';
import '../ui/styles.css';
import { codecWasmUrls } from '../viewer/codec-wasm-urls';
import { cornerstoneFrameDecoder, setCodecWasmUrls } from '../viewer/dicom-codecs';
import { CompareEngine } from './compare-engine';

export function start(root: HTMLElement): void {
  const appBase = new URL('.', location.href).href;
  setCodecWasmUrls(codecWasmUrls(location.href));
  const engine = new CompareEngine({
    createClient: startInferenceWorker,
    frameDecoder: cornerstoneFrameDecoder,
    appBase,
    defaultModelHost: DEFAULT_MODEL_HOST,
  });
  const batch = new BatchEngine(engine, appBase);
  // Tests and power users can reach the engine from the console (no data leaves through it).
  (window as unknown as { samCompare?: unknown }).samCompare = { engine, batch };
  createRoot(root).render(
    <StrictMode>
      <ActionsContext.Provider value={engine}>
        <BatchActionsContext.Provider value={batch}>
          <App />
        </BatchActionsContext.Provider>
      </ActionsContext.Provider>
    </StrictMode>,
  );
  void probeCapabilities().then((c) => {
    useRuntimeStore.getState().setCapabilities(c);
  });
  const params = new URLSearchParams(location.search);
  if (params.get('sample') !== '0') void engine.openSample();
}
