import { useCallback, useEffect, useState } from 'react';
import { MODEL_PRESETS, approxTotalBytes } from '../core/models/registry';
import type { CachedModelInfo } from '../state/services';
import { useActions } from './context';
import { fmtBytes } from './format';

/** Model host setting, the preset registry, and the models cached in this browser (free them here). */
export function ModelsView() {
  const actions = useActions();
  const [cached, setCached] = useState<CachedModelInfo[] | null>(null);
  const [host, setHost] = useState(actions.modelHost());
  const refresh = useCallback(() => {
    void actions.listCachedModels().then(setCached);
  }, [actions]);
  useEffect(refresh, [refresh]);
  return (
    <div className="page" data-testid="models-view">
      <h2>Model host</h2>
      <p className="muted">
        Files are fetched from <code>{'{host}/{repo}/resolve/{revision}/{file}'}</code>. Only model files are
        downloaded; no image data is ever sent.
      </p>
      <div className="row">
        <input
          value={host}
          onChange={(e) => setHost(e.target.value)}
          className="wide"
          aria-label="Model host"
          data-testid="model-host"
        />
        <button onClick={() => actions.setModelHost(host)}>Save</button>
      </div>
      <h2>Cached in this browser</h2>
      {cached === null ? (
        <p>…</p>
      ) : cached.length === 0 ? (
        <p className="muted" data-testid="cache-empty">
          No model files cached.
        </p>
      ) : (
        <table className="grid" data-testid="cache-table">
          <thead>
            <tr>
              <th>file</th>
              <th>size</th>
              <th>SHA-256 (computed at download)</th>
              <th>fetched</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {cached.map((c) => (
              <tr key={c.url}>
                <td className="url">{c.url}</td>
                <td>{fmtBytes(c.bytes)}</td>
                <td>
                  <code>{c.sha256.slice(0, 16)}…</code>
                </td>
                <td>{c.fetchedAt.slice(0, 19).replace('T', ' ')}</td>
                <td>
                  <button
                    onClick={() => void actions.deleteCachedModel(c.url).then(refresh)}
                    data-testid="cache-delete"
                  >
                    Free
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Presets</h2>
      <table className="grid">
        <thead>
          <tr>
            <th>model</th>
            <th>contract</th>
            <th>repository @ revision</th>
            <th>size</th>
            <th>notes</th>
          </tr>
        </thead>
        <tbody>
          {MODEL_PRESETS.map((p) => (
            <tr key={p.id}>
              <td>{p.label}</td>
              <td>{p.contract}</td>
              <td>
                {p.repo} @ {p.revision}
              </td>
              <td>≈{fmtBytes(approxTotalBytes(p))}</td>
              <td className="muted">{p.notes ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">
        Commit ids and file hashes are not published with these presets; revisions follow <code>main</code>{' '}
        and each file’s SHA-256 is recorded at first download and stored with every result.
      </p>
    </div>
  );
}
