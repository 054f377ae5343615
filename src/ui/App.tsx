import { useState } from 'react';
import { BackendStatus } from './BackendStatus';

type Tab = 'compare' | 'batch' | 'models' | 'about';
const TABS: readonly { id: Tab; label: string }[] = [
  { id: 'compare', label: 'Compare' },
  { id: 'batch', label: 'Batch' },
  { id: 'models', label: 'Models' },
  { id: 'about', label: 'About' },
];

function ComparePlaceholder() {
  return (
    <div className="compare" data-testid="compare-view">
      <section className="panes">
        {(['SAM', 'SAM 2'] as const).map((name) => (
          <figure className="pane" key={name} data-testid={`pane-${name === 'SAM' ? 'sam' : 'sam2'}`}>
            <figcaption>{name}</figcaption>
            <div className="viewport-placeholder">Open an image to start</div>
          </figure>
        ))}
      </section>
      <aside className="side" data-testid="side-panel">
        <h2>Study</h2>
        <p className="muted">Drop a CT, MR or ultrasound image with its ground truth.</p>
        <h2>Structure</h2>
        <p className="muted">—</p>
        <h2>Prompts</h2>
        <p className="muted">Left click: positive · right click: negative · shift-drag: box</p>
      </aside>
    </div>
  );
}

export function App() {
  const [tab, setTab] = useState<Tab>('compare');
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
        </nav>
        <BackendStatus />
      </header>
      <main>
        {tab === 'compare' && <ComparePlaceholder />}
        {tab === 'batch' && (
          <div className="batch" data-testid="batch-view">
            <h2>Batch comparison</h2>
            <p className="muted">Drop a dataset folder to run the paper’s protocol.</p>
          </div>
        )}
        {tab === 'models' && <div data-testid="models-view">Models</div>}
        {tab === 'about' && <div data-testid="about-view">About</div>}
      </main>
    </div>
  );
}
