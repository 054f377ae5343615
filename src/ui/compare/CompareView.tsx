import { useEffect, useRef, useState } from 'react';
import { useCompareStore, SLOT_LABEL, type Slot } from '../../state/compare';
import { useActions } from '../context';
import { SidePanel } from './SidePanel';
import { CandidateStrip, ResultsBar } from './ResultsBar';

function PaneHeader({ slot }: { slot: Slot }) {
  const m = useCompareStore((s) => s.models[slot]);
  const r = useCompareStore((s) => s.results[slot]);
  return (
    <figcaption>
      <strong>{SLOT_LABEL[slot]}</strong>
      <span className="model-label" data-testid={`model-label-${slot}`}>
        {m.status === 'ready' ? m.label : m.status === 'none' ? 'no model loaded' : m.status}
      </span>
      {m.isFixture && (
        <span
          className="badge fixture"
          data-testid={`fixture-badge-${slot}`}
          title="A synthetic graph with the real I/O contract; not SAM"
        >
          test fixture
        </span>
      )}
      <span className="status" data-testid={`status-${slot}`}>
        {r.status === 'encoding'
          ? 'encoding…'
          : r.status === 'decoding'
            ? 'decoding…'
            : r.status === 'error'
              ? 'error'
              : ''}
      </span>
    </figcaption>
  );
}

export function CompareView() {
  const actions = useActions();
  const samRef = useRef<HTMLDivElement>(null);
  const sam2Ref = useRef<HTMLDivElement>(null);
  const study = useCompareStore((s) => s.study);
  const loading = useCompareStore((s) => s.loading);
  const gpuLost = useCompareStore((s) => s.gpuLost);
  const [dragOver, setDragOver] = useState(false);

  useEffect(() => {
    const a = samRef.current;
    const b = sam2Ref.current;
    if (!a || !b) return;
    let cleanup: (() => void) | null = null;
    let cancelled = false;
    void actions.mountViewer({ sam: a, sam2: b }).then((c) => {
      if (cancelled) c();
      else cleanup = c;
    });
    return () => {
      cancelled = true;
      cleanup?.();
    };
  }, [actions]);

  return (
    <div className="compare" data-testid="compare-view">
      <section
        className={`viewer-area ${dragOver ? 'drag' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragOver(true);
        }}
        onDragLeave={() => setDragOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragOver(false);
          void actions.openDrop(e.dataTransfer, 'auto');
        }}
      >
        {gpuLost && (
          <div className="banner error" data-testid="gpu-lost-banner">
            The GPU device was lost ({gpuLost}). No mask from it is shown.
            <button onClick={() => void actions.retryGpu()} data-testid="retry-gpu">
              Retry on WebGPU
            </button>
            <button onClick={() => void actions.switchToWasm()} data-testid="switch-wasm">
              Switch to WebAssembly
            </button>
          </div>
        )}
        {study?.gt?.isModelOutput && (
          <div className="banner note" data-testid="model-output-note">
            <span>
              Reference masks are <strong>TotalSegmentator model outputs, not manual ground truth</strong>:
              Dice here measures agreement with TotalSegmentator.
            </span>
          </div>
        )}
        <div className="panes">
          {(['sam', 'sam2'] as const).map((slot) => (
            <figure className={`pane pane-${slot}`} key={slot} data-testid={`pane-${slot}`}>
              <PaneHeader slot={slot} />
              <div
                className="viewport"
                ref={slot === 'sam' ? samRef : sam2Ref}
                data-testid={`viewport-${slot}`}
              />
              <CandidateStrip slot={slot} />
              {!study && (
                <div className="viewport-placeholder">
                  {loading
                    ? `Opening ${loading}…`
                    : 'Drop a CT, MR or ultrasound image (and its ground truth) here'}
                </div>
              )}
            </figure>
          ))}
        </div>
        <ResultsBar />
      </section>
      <SidePanel />
    </div>
  );
}
