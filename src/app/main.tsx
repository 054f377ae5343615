/**
 * Composition root: builds the engines (capability probe, inference worker client, viewer controller)
 * and injects them into the React tree. Nothing below app/ constructs them.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { probeCapabilities } from '../runtime/capabilities';
import { useRuntimeStore } from '../state/runtime';
import { App } from '../ui/App';
import '../ui/styles.css';

export function start(root: HTMLElement): void {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
  void probeCapabilities().then((c) => {
    useRuntimeStore.getState().setCapabilities(c);
  });
}
