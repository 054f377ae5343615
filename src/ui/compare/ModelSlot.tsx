import { useRef, useState } from 'react';
import { ALL_PRESETS, approxTotalBytes, DEFAULT_PRESETS } from '../../core/models/registry';
import { useCompareStore, SLOT_LABEL, type Slot } from '../../state/compare';
import { useActions } from '../context';
import { fmtBytes, fmtMs } from '../format';

/** Model choice for one pane: a hub preset (downloaded with progress, cached) or local .onnx files. */
export function ModelSlot({ slot }: { slot: Slot }) {
  const actions = useActions();
  const m = useCompareStore((s) => s.models[slot]);
  const family = slot === 'sam' ? 'SAM' : 'SAM 2';
  const presets = ALL_PRESETS.filter((p) => p.family === family);
  const [choice, setChoice] = useState<string>(m.presetId ?? DEFAULT_PRESETS[slot]);
  const fileRef = useRef<HTMLInputElement>(null);
  const p = m.progress;
  const busy = m.status === 'downloading' || m.status === 'loading';
  return (
    <div className="model-slot" data-testid={`model-slot-${slot}`}>
      <div className="row">
        <strong className={`slot-${slot}`}>{SLOT_LABEL[slot]}</strong>
        <select
          value={choice}
          onChange={(e) => setChoice(e.target.value)}
          aria-label={`${SLOT_LABEL[slot]} model`}
          data-testid={`preset-${slot}`}
        >
          {presets.map((pr) => (
            <option key={pr.id} value={pr.id}>
              {pr.label} · {pr.precision === 'fixture' ? 'tiny' : `≈${fmtBytes(approxTotalBytes(pr))}`}
            </option>
          ))}
        </select>
        <button
          disabled={busy}
          onClick={() => void actions.loadPreset(slot, choice)}
          data-testid={`load-${slot}`}
        >
          Load
        </button>
        <button
          disabled={busy}
          onClick={() => fileRef.current?.click()}
          title="Pick an encoder and a decoder .onnx (and .onnx_data files)"
        >
          Local files…
        </button>
        <input
          ref={fileRef}
          type="file"
          multiple
          accept=".onnx,.onnx_data,.data,.ort"
          hidden
          data-testid={`local-files-${slot}`}
          onChange={(e) => {
            const files = [...(e.target.files ?? [])];
            e.target.value = '';
            if (files.length) void actions.loadLocalModel(slot, files);
          }}
        />
      </div>
      {m.status === 'downloading' && p && (
        <div className="progress" data-testid={`progress-${slot}`}>
          <progress max={p.total ?? undefined} value={p.received} />
          <span>
            {p.file} ({p.fileIndex + 1}/{p.fileCount}): {fmtBytes(p.received)}
            {p.total ? ` / ${fmtBytes(p.total)}` : ''} · {fmtBytes(p.bytesPerSec)}/s
            {p.etaSec !== null ? ` · ETA ${Math.ceil(p.etaSec)} s` : ''}
          </span>
          <button onClick={() => actions.cancelDownload(slot)} data-testid={`cancel-${slot}`}>
            Cancel
          </button>
        </div>
      )}
      {m.status === 'loading' && <div className="muted">creating sessions…</div>}
      {m.status === 'error' && (
        <div className="error-text" data-testid={`model-error-${slot}`}>
          {m.error}{' '}
          <button onClick={() => void actions.loadPreset(slot, choice)} data-testid={`retry-${slot}`}>
            Retry
          </button>
        </div>
      )}
      {m.status === 'ready' && (
        <div className="model-info" data-testid={`model-info-${slot}`}>
          <div>
            {m.isFixture && <span className="badge fixture">test fixture — not SAM</span>} {m.label}
          </div>
          <div className="muted">
            contract {m.contract} ·{' '}
            {m.provider === 'webgpu'
              ? 'WebGPU'
              : `WebAssembly, ${m.threads ?? 1} thread${m.threads === 1 ? '' : 's'}`}{' '}
            · sessions {fmtMs(m.createMs)}
          </div>
          {m.encoderInput && (
            <div className="muted" data-testid={`encoder-input-${slot}`}>
              encoder input: {m.encoderInput}
            </div>
          )}
          <details>
            <summary>files and SHA-256</summary>
            <ul className="files">
              {m.files.map((f) => (
                <li key={f.name}>
                  {f.name} · {fmtBytes(f.bytes)} {f.fromCache ? '(cached)' : ''}
                  <br />
                  <code data-testid="file-sha">{f.sha256}</code>
                </li>
              ))}
            </ul>
            <p className="muted">
              No hash is published for these files: the values above were computed at first download (trust on
              first use).
            </p>
          </details>
        </div>
      )}
    </div>
  );
}
