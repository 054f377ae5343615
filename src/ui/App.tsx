import { useCallback, useEffect, useState } from 'react';
import { useCompareStore } from '../state/compare';
import { useBatchActions } from './context';
import { BatchView } from './batch/BatchView';
import { BackendStatus } from './BackendStatus';
import { CompareView } from './compare/CompareView';
import { useActions } from './context';
import { ModelsView } from './ModelsView';
import { SHORTCUTS, useShortcuts } from './shortcuts';
import { Toasts } from './Toasts';

type Tab = 'compare' | 'batch' | 'models' | 'about';
const TABS: readonly { id: Tab; label: string }[] = [
  { id: 'compare', label: 'Compare' },
  { id: 'batch', label: 'Batch' },
  { id: 'models', label: 'Models' },
  { id: 'about', label: 'About' },
];

function Help({ onClose }: { onClose: () => void }) {
  return (
    <div className="help" role="dialog" aria-label="Keyboard shortcuts" data-testid="help">
      <h2>Keyboard and mouse</h2>
      <table>
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.keys}>
              <th>{s.keys}</th>
              <td>{s.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <button onClick={onClose}>Close</button>
    </div>
  );
}

function ClearSession({ onClose }: { onClose: () => void }) {
  const actions = useActions();
  const [keepModels, setKeepModels] = useState(true);
  const [busy, setBusy] = useState(false);
  return (
    <div className="help" role="dialog" aria-label="Clear session" data-testid="clear-dialog">
      <h2>Clear session</h2>
      <p>
        Closes the open study and removes everything this app stored in this browser: saved batch runs and
        their results, cached files and settings. The page reloads with nothing in memory.
      </p>
      <label>
        <input
          type="checkbox"
          checked={keepModels}
          onChange={(e) => setKeepModels(e.target.checked)}
          data-testid="clear-keep-models"
        />{' '}
        Keep downloaded models (public weights; they hold no patient data)
      </label>
      <p className="dialog-buttons">
        <button
          className="danger"
          disabled={busy}
          data-testid="clear-confirm"
          onClick={() => {
            setBusy(true);
            void actions.clearSession(keepModels).finally(() => setBusy(false));
          }}
        >
          Clear and reload
        </button>{' '}
        <button onClick={onClose}>Cancel</button>
      </p>
    </div>
  );
}

function About() {
  return (
    <div className="page" data-testid="about-view">
      <h2>About</h2>
      <p>
        Reproduces and extends <em>Is SAM 2 Better than SAM in Medical Image Segmentation?</em> (Sengupta,
        Chakrabarty, Soni, arXiv 2408.04212): the same prompts go to SAM and SAM 2, both run in this browser,
        and Dice, IoU, NSD and HD95 are computed against the ground truth after every click.
      </p>
      <p>
        Privacy: images, masks and results stay in this browser. The only network traffic is the app itself
        and model downloads from the model host.
      </p>
      <h3>Embedded sample</h3>
      <p>
        TotalSegmentator example CT and its segmentation (Apache-2.0, github.com/wasserth/TotalSegmentator).
        The segmentation is a TotalSegmentator model output, not manual ground truth. See{' '}
        <a href="sample/NOTICE.md">sample/NOTICE.md</a>.
      </p>
    </div>
  );
}

export function App() {
  const tab = useCompareStore((s) => s.activeTab);
  const setTab = (t: Tab) => useCompareStore.getState().patch({ activeTab: t });
  const [help, setHelp] = useState(false);
  const [clearing, setClearing] = useState(false);
  const batch = useBatchActions();
  useEffect(() => {
    if (tab === 'batch') void batch.refreshRuns();
  }, [tab, batch]);
  const actions = useActions();
  const toggleHelp = useCallback(() => setHelp((h) => !h), []);
  useShortcuts(actions, toggleHelp);
  return (
    <div className="app">
      <header className="top">
        <h1>
          SAM <span className="vs">vs</span> SAM 2{' '}
          <span className="sub">medical segmentation, in your browser</span>
        </h1>
        <nav role="tablist">
          {TABS.map((t) => (
            <button
              key={t.id}
              role="tab"
              aria-selected={tab === t.id}
              className={tab === t.id ? 'active' : ''}
              onClick={() => setTab(t.id)}
              data-testid={`tab-${t.id}`}
            >
              {t.label}
            </button>
          ))}
          <button
            onClick={() => setClearing(true)}
            title="Remove everything this app stored in this browser"
            data-testid="clear-session"
          >
            Clear session
          </button>
          <button onClick={toggleHelp} title="Keyboard shortcuts (?)" data-testid="help-button">
            ?
          </button>
        </nav>
        <BackendStatus />
      </header>
      <main>
        <div className={tab === 'compare' ? 'tab-body' : 'tab-body hidden'}>
          <CompareView />
        </div>
        {tab === 'batch' && <BatchView />}
        {tab === 'models' && <ModelsView />}
        {tab === 'about' && <About />}
      </main>
      {help && <Help onClose={() => setHelp(false)} />}
      {clearing && <ClearSession onClose={() => setClearing(false)} />}
      <Toasts />
    </div>
  );
}
