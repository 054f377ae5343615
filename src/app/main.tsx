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
import { useCompareStore } from '../state/compare';
import { BatchEngine } from './batch-engine';
import { describeClear } from './clear-session';
import '../ui/styles.css';
import { codecWasmUrls } from '../codecs/wasm-urls';
import { cornerstoneFrameDecoder, setCodecWasmUrls } from '../codecs/dicom-codecs';
import { CompareEngine } from './compare/engine';

export function start(root: HTMLElement): void {
  const appBase = new URL('.', location.href).href;
  setCodecWasmUrls(codecWasmUrls(location.href));
  const engine = new CompareEngine({
    // Decoder workers are opt-in (`?decoderWorkers=1`): on the 2-core benchmark machine some clicks
    // stalled for seconds with them (docs/performance.md), which is not understood yet.
    createClient: () =>
      startInferenceWorker({
        decoderWorkers: new URLSearchParams(location.search).get('decoderWorkers') === '1',
      }),
    frameDecoder: cornerstoneFrameDecoder,
    appBase,
    defaultModelHost: DEFAULT_MODEL_HOST,
  });
  const batch = new BatchEngine(engine, appBase);
  engine.onShutdown(() => batch.shutdown());
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
  const cleared = params.get('cleared');
  if (cleared) {
    const [c = 0, d = 0, o = 0, s = 0, kept = 0] = cleared.split('.').map(Number);
    useCompareStore
      .getState()
      .toast('info', describeClear({ caches: c, databases: d, opfsEntries: o, storageKeys: s }, kept === 1));
    params.delete('cleared');
    history.replaceState(null, '', `${location.pathname}?${params.toString()}`);
  }
  if (params.get('sample') !== '0') void engine.openSample();
}
