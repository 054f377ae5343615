import { useEffect, useMemo, useRef, useState } from 'react';
import { SELECTION_LABELS, type SelectionRule } from '../../core/models/selection';
import { WINDOW_CHOICES } from '../../core/image/intensity';
import { STRATEGY_LABELS, type StrategyId } from '../../core/prompts/protocol';
import { LAYOUT_LABELS } from '../../batch/layouts/assemble';
import type { LayoutId } from '../../batch/layouts/types';
import { isErrorRow } from '../../batch/results';
import {
  failureGroups,
  pairedSummary,
  SINGLE_RULE_SAM2_NOTE,
  summarize,
  type MetricId,
} from '../../batch/summary';
import { useBatchStore, type EmbeddingMemory } from '../../state/batch';
import { useCompareStore } from '../../state/compare';
import { useBatchActions } from '../context';
import { fmtNum, fmtSigned } from '../format';
import { Figures } from './Figures';

const RULES: SelectionRule[] = ['predicted-iou', 'first', 'oracle', 'single'];
const STRATEGIES: StrategyId[] = ['centre-random', 'pos-neg', 'error-region', 'box'];
const METRIC_LABEL: Record<MetricId, string> = { dice: 'Dice', iou: 'IoU', nsd: 'NSD @ 2 mm', hd95: 'HD95' };

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

/** What the run holds in embedding memory: it stays flat however many units the run has. */
function EmbeddingMemoryLine({ m }: { m: EmbeddingMemory }) {
  return (
    <span
      className="muted small"
      data-testid="batch-memory"
      data-peak-bytes={m.peakBytes}
      data-peak-entries={m.peakEntries}
      data-budget-bytes={m.budgetBytes}
      title="Encoder embeddings the batch worker keeps: released after each slice, capped by a byte budget"
    >
      Embeddings held: {m.entries} ({mib(m.bytes)}; peak {mib(m.peakBytes)} of a {mib(m.budgetBytes)} budget)
    </span>
  );
}

function fmtEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '—';
  if (s < 90) return `${Math.round(s)} s`;
  return `${Math.round(s / 60)} min`;
}

function Preview() {
  const b = useBatchStore();
  const total = b.previews.reduce((a, p) => a + p.units, 0);
  const samEnc = useCompareStore((s) => s.results.sam.encodeMs);
  const perUnitSec = ((samEnc ?? 1500) * 2) / 1000 / 2 + 1;
  return (
    <section className="card" data-testid="batch-preview">
      <h3>
        {b.dataset}{' '}
        <span className="muted">
          · {LAYOUT_LABELS[(b.layout ?? 'unknown') as LayoutId]} layout · {b.fileCount} files
        </span>
      </h3>
      {b.planNotes.map((n) => (
        <div className="note" key={n}>
          {n}
        </div>
      ))}
      <table className="grid">
        <thead>
          <tr>
            <th>case</th>
            <th>modality</th>
            <th>slices</th>
            <th>structures (units)</th>
            <th>units</th>
          </tr>
        </thead>
        <tbody>
          {b.previews.map((p) => (
            <tr key={p.id} data-testid="preview-case">
              <td>{p.id}</td>
              <td>{p.modality}</td>
              <td>{p.slices}</td>
              <td className="small">
                {p.error ? (
                  <span className="error-text">{p.error}</span>
                ) : (
                  p.structures.map((s) => `${s.name.replace(/_/g, ' ')} (${s.units})`).join(', ')
                )}
              </td>
              <td>{p.units}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="muted" data-testid="batch-total">
        {b.previews.length} case{b.previews.length === 1 ? '' : 's'} · {total} units · estimated{' '}
        {fmtEta(total * perUnitSec)} with the loaded models
      </div>
      {b.skipped.length > 0 && (
        <details data-testid="batch-skipped">
          <summary>{b.skipped.length} files not used</summary>
          <ul className="small">
            {b.skipped.map((s) => (
              <li key={s.path}>
                {s.path}: {s.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
      {b.resumeOf && (
        <div className="note" data-testid="batch-resume">
          This folder has an unfinished run ({b.resumeOf.doneUnits}/{b.resumeOf.totalUnits} units): Run
          resumes it without recounting finished units.
        </div>
      )}
    </section>
  );
}

/** For a folder whose layout is not recognised: which files are images, which are masks, what values mean. */
function MappingDialog() {
  const actions = useBatchActions();
  const [imageGlob, setImageGlob] = useState('**/images/*.png');
  const [maskGlob, setMaskGlob] = useState('**/masks/*.png');
  const [pairBy, setPairBy] = useState<'same-stem' | 'stem-prefix'>('same-stem');
  const [modality, setModality] = useState<'CT' | 'MR' | 'US' | 'OT'>('CT');
  const [valueNames, setValueNames] = useState('1=structure');
  return (
    <section className="card" data-testid="mapping-dialog">
      <h3>Map this folder</h3>
      <p className="muted small">
        The layout was not recognised. Say which files are images and which are their masks (patterns: *
        within a folder, ** across folders).
      </p>
      <div className="row wrap">
        <label>
          images{' '}
          <input value={imageGlob} onChange={(e) => setImageGlob(e.target.value)} data-testid="map-images" />
        </label>
        <label>
          masks{' '}
          <input value={maskGlob} onChange={(e) => setMaskGlob(e.target.value)} data-testid="map-masks" />
        </label>
        <label>
          pair by{' '}
          <select
            value={pairBy}
            onChange={(e) => setPairBy(e.target.value as 'same-stem' | 'stem-prefix')}
            data-testid="map-pairby"
          >
            <option value="same-stem">same file name (one label map per image)</option>
            <option value="stem-prefix">image name + _structure (one mask per structure)</option>
          </select>
        </label>
        <label>
          modality{' '}
          <select
            value={modality}
            onChange={(e) => setModality(e.target.value as 'CT' | 'MR' | 'US' | 'OT')}
            data-testid="map-modality"
          >
            <option value="CT">CT</option>
            <option value="MR">MR</option>
            <option value="US">ultrasound</option>
            <option value="OT">other</option>
          </select>
        </label>
        <label>
          values{' '}
          <input
            value={valueNames}
            onChange={(e) => setValueNames(e.target.value)}
            placeholder="1=liver, 2=spleen"
            data-testid="map-values"
          />
        </label>
        <button
          onClick={() => actions.applyMapping({ imageGlob, maskGlob, pairBy, modality, valueNames })}
          data-testid="map-apply"
        >
          Apply
        </button>
      </div>
    </section>
  );
}

function Settings() {
  const b = useBatchStore();
  const actions = useBatchActions();
  // Units depend on these: count them again when they change.
  const { sampling, samplingK, minArea } = b;
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    actions.rescan();
  }, [actions, sampling, samplingK, minArea]);
  const toggle = (s: StrategyId) =>
    b.patch({
      strategies: b.strategies.includes(s) ? b.strategies.filter((x) => x !== s) : [...b.strategies, s],
    });
  return (
    <section className="card" data-testid="batch-settings">
      <h3>Protocol</h3>
      <div className="row wrap">
        {STRATEGIES.map((s) => (
          <label key={s} className="inline">
            <input
              type="checkbox"
              checked={b.strategies.includes(s)}
              onChange={() => toggle(s)}
              data-testid={`strategy-${s}`}
            />{' '}
            {STRATEGY_LABELS[s]}
          </label>
        ))}
      </div>
      <div className="row wrap">
        <label>
          positive clicks n = 1…
          <input
            type="number"
            min={1}
            max={10}
            value={b.maxPoints}
            onChange={(e) => b.patch({ maxPoints: Number(e.target.value) })}
            className="narrow"
            data-testid="batch-maxn"
          />
        </label>
        <label>
          seed{' '}
          <input
            type="number"
            value={b.seed}
            onChange={(e) => b.patch({ seed: Number(e.target.value) })}
            className="narrow"
            data-testid="batch-seed"
          />
        </label>
        <label>
          min area (px){' '}
          <input
            type="number"
            min={1}
            value={b.minArea}
            onChange={(e) => b.patch({ minArea: Number(e.target.value) })}
            className="narrow"
          />
        </label>
        <label>
          slices{' '}
          <select
            value={b.sampling}
            onChange={(e) => b.patch({ sampling: e.target.value as 'all' | 'every' | 'largest' })}
            data-testid="batch-sampling"
          >
            <option value="all">all with the structure</option>
            <option value="every">every k-th</option>
            <option value="largest">k largest</option>
          </select>
        </label>
        {b.sampling !== 'all' && (
          <label>
            k{' '}
            <input
              type="number"
              min={1}
              value={b.samplingK}
              onChange={(e) => b.patch({ samplingK: Number(e.target.value) })}
              className="narrow"
              data-testid="batch-k"
            />
          </label>
        )}
        <label>
          window{' '}
          <select value={b.windowPreset} onChange={(e) => b.patch({ windowPreset: e.target.value })}>
            {WINDOW_CHOICES.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="muted small">
        All candidates are stored; the mask rule is chosen when reading the results. Both models always get
        identical prompts.
      </p>
    </section>
  );
}

function Progress() {
  const actions = useBatchActions();
  const b = useBatchStore();
  const p = b.progress;
  return (
    <section className="card" data-testid="batch-progress">
      <div className="row wrap">
        {(b.phase === 'ready' || b.phase === 'done' || b.phase === 'error') && (
          <button
            onClick={() => void actions.start()}
            disabled={b.previews.length === 0}
            data-testid="batch-run"
          >
            {b.resumeOf ? 'Resume run' : 'Run'}
          </button>
        )}
        {b.phase === 'running' && (
          <button onClick={() => actions.pause()} data-testid="batch-pause">
            Pause
          </button>
        )}
        {b.phase === 'paused' && (
          <button onClick={() => actions.resume()} data-testid="batch-resume-btn">
            Continue
          </button>
        )}
        {(b.phase === 'running' || b.phase === 'paused') && (
          <button onClick={() => actions.cancel()} data-testid="batch-cancel">
            Cancel
          </button>
        )}
        <span className="muted" data-testid="batch-status">
          {b.status}
        </span>
      </div>
      {p && (
        <div className="progress">
          <progress max={Math.max(1, p.total)} value={p.done + p.skipped} data-testid="batch-progress-bar" />
          <span data-testid="batch-progress-text">
            {p.done + p.skipped} / {p.total} units · {p.unitsPerMinute.toFixed(1)} units/min · ETA{' '}
            {fmtEta(p.etaSec)} {p.currentCase && `· ${p.currentCase}`}
            {p.unitsWithFailures > 0 &&
              ` · ${p.unitsWithFailures} with failures (${p.failedRows} failed rows)`}
          </span>
          {b.memory && <EmbeddingMemoryLine m={b.memory} />}
        </div>
      )}
    </section>
  );
}

const SLOT_NAME = { sam: 'SAM', sam2: 'SAM 2' } as const;
const strategyLabel = (s: string) => (STRATEGY_LABELS as Partial<Record<string, string>>)[s] ?? s;
const MAX_FAILED_ROWS = 100;

/**
 * What failed, beside the results: the run's failures that have no rows (cases that did not load, units
 * not written), the error rows grouped by model, strategy and message, and the error rows themselves.
 */
function Failures() {
  const actions = useBatchActions();
  const errors = useBatchStore((s) => s.errors);
  const rows = useBatchStore((s) => s.rows);
  const failedRows = useMemo(() => rows.filter(isErrorRow), [rows]);
  const groups = useMemo(() => failureGroups(rows), [rows]);
  if (errors.length === 0 && failedRows.length === 0) return null;
  const units = new Set(failedRows.map((r) => `${r.case}|${r.slice}|${r.label_value}`)).size;
  return (
    <section className="card" data-testid="batch-failures">
      <h3 className="error-text">
        Failures: {failedRows.length} failed rows on {units} units
        {errors.length > 0 && `, ${errors.length} not run`}
      </h3>
      <p className="muted small">
        A failed row is a prompt set a model could not run; it is in results.csv with its error (status
        “error”) and in no statistic. The other model’s rows and the other prompt sets are kept.
      </p>
      {errors.length > 0 && (
        <table className="grid" data-testid="batch-run-errors">
          <thead>
            <tr>
              <th>case</th>
              <th>unit</th>
              <th>error</th>
            </tr>
          </thead>
          <tbody>
            {errors.map((e, i) => (
              <tr key={i} data-testid="run-error">
                <td>{e.case}</td>
                <td>{e.unit ?? 'whole case (did not load)'}</td>
                <td className="small error-text">{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {groups.length > 0 && (
        <table className="grid" data-testid="failure-groups">
          <thead>
            <tr>
              <th>model</th>
              <th>prompts</th>
              <th>failed rows</th>
              <th>units</th>
              <th>error</th>
            </tr>
          </thead>
          <tbody>
            {groups.map((g, i) => (
              <tr key={i} data-testid="failure-group">
                <td>
                  {SLOT_NAME[g.model_slot]} <span className="muted small">{g.model_label}</span>
                </td>
                <td>{strategyLabel(g.strategy)}</td>
                <td>{g.rows}</td>
                <td>{g.units}</td>
                <td className="small error-text">{g.error}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {failedRows.length > 0 && (
        <table className="grid" data-testid="failed-rows">
          <thead>
            <tr>
              <th>case</th>
              <th>slice</th>
              <th>structure</th>
              <th>model</th>
              <th>prompts</th>
              <th>n</th>
              <th>error</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {failedRows.slice(0, MAX_FAILED_ROWS).map((r, i) => (
              <tr key={i} data-testid="failed-row">
                <td>{r.case}</td>
                <td>{r.slice}</td>
                <td>{r.structure.replace(/_/g, ' ')}</td>
                <td>{SLOT_NAME[r.model_slot]}</td>
                <td>{strategyLabel(r.strategy)}</td>
                <td>{r.n_points}</td>
                <td className="small error-text">{r.error}</td>
                <td>
                  <button onClick={() => void actions.openUnit(r)} title="Open this unit in the viewer">
                    Open
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {failedRows.length > MAX_FAILED_ROWS && (
        <div className="muted small">
          … and {failedRows.length - MAX_FAILED_ROWS} more failed rows (all of them are in results.csv).
        </div>
      )}
    </section>
  );
}

function Results() {
  const actions = useBatchActions();
  const b = useBatchStore();
  const [strategy, setStrategy] = useState('centre-random');
  const [n, setN] = useState(1);
  const summary = useMemo(() => summarize(b.rows, [b.rule], [b.metric]), [b.rows, b.rule, b.metric]);
  const paired = useMemo(
    () => pairedSummary(b.rows, b.rule, b.metric, String(b.seed)),
    [b.rows, b.rule, b.metric, b.seed],
  );
  const strategies = [...new Set(b.rows.map((r) => r.strategy))];
  const ns = [...new Set(b.rows.filter((r) => r.strategy === strategy).map((r) => r.n_points))].sort(
    (x, y) => x - y,
  );
  const shown = summary.filter((s) => s.strategy === strategy && s.n_points === n);
  const groups = [...new Set(shown.map((s) => `${s.dataset}|${s.modality}|${s.structure}`))];
  if (b.rows.length === 0) return null;
  return (
    <section className="card" data-testid="batch-results">
      <h3>Results</h3>
      <div className="row wrap">
        <label>
          mask rule{' '}
          <select
            value={b.rule}
            onChange={(e) => b.patch({ rule: e.target.value as SelectionRule })}
            data-testid="batch-rule"
          >
            {RULES.map((r) => (
              <option key={r} value={r}>
                {SELECTION_LABELS[r]}
              </option>
            ))}
          </select>
        </label>
        {b.rule === 'single' && (
          <span className="note small" data-testid="rule-note">
            {SINGLE_RULE_SAM2_NOTE}
          </span>
        )}
        <label>
          metric{' '}
          <select
            value={b.metric}
            onChange={(e) => b.patch({ metric: e.target.value as MetricId })}
            data-testid="batch-metric"
          >
            {(Object.keys(METRIC_LABEL) as MetricId[]).map((m) => (
              <option key={m} value={m}>
                {METRIC_LABEL[m]}
              </option>
            ))}
          </select>
        </label>
        <label>
          prompts{' '}
          <select
            value={strategy}
            onChange={(e) => setStrategy(e.target.value)}
            data-testid="batch-strategy-view"
          >
            {strategies.map((s) => (
              <option key={s} value={s}>
                {STRATEGY_LABELS[s as StrategyId]}
              </option>
            ))}
          </select>
        </label>
        <label>
          n{' '}
          <select value={n} onChange={(e) => setN(Number(e.target.value))}>
            {ns.map((x) => (
              <option key={x} value={x}>
                {x}
              </option>
            ))}
          </select>
        </label>
      </div>
      <table className="grid" data-testid="summary-table">
        <thead>
          <tr>
            <th>dataset</th>
            <th>modality</th>
            <th>structure</th>
            <th>SAM mean ± sd</th>
            <th>SAM 2 mean ± sd</th>
            <th>median [IQR] SAM / SAM 2</th>
            <th>units</th>
            <th>SAM 2 − SAM (95 % CI)</th>
            <th>Wilcoxon p</th>
            <th>wins SAM / SAM 2</th>
            <th>failed SAM / SAM 2</th>
          </tr>
        </thead>
        <tbody>
          {groups.map((g) => {
            const [dataset = '', modality = '', structure = ''] = g.split('|');
            const a = shown.find(
              (s) => `${s.dataset}|${s.modality}|${s.structure}` === g && s.model_slot === 'sam',
            );
            const c = shown.find(
              (s) => `${s.dataset}|${s.modality}|${s.structure}` === g && s.model_slot === 'sam2',
            );
            const p = paired.find(
              (x) =>
                x.dataset === dataset &&
                x.modality === modality &&
                x.structure === structure &&
                x.strategy === strategy &&
                x.n_points === n,
            );
            return (
              <tr key={g} data-testid="summary-row">
                <td>{dataset}</td>
                <td>{modality}</td>
                <td>{structure.replace(/_/g, ' ')}</td>
                <td>{a ? `${fmtNum(a.mean)} ± ${fmtNum(a.sd)}` : '—'}</td>
                <td>{c ? `${fmtNum(c.mean)} ± ${fmtNum(c.sd)}` : b.rule === 'single' ? 'n/a' : '—'}</td>
                <td className="small">
                  {a ? `${fmtNum(a.median)} [${fmtNum(a.iqr)}]` : '—'} /{' '}
                  {c ? `${fmtNum(c.median)} [${fmtNum(c.iqr)}]` : '—'}
                </td>
                <td>{a?.n ?? c?.n ?? 0}</td>
                <td title={p?.note ?? ''}>
                  {p && p.n > 0
                    ? `${fmtSigned(p.meanDiff)} (${fmtSigned(p.ciLow)}, ${fmtSigned(p.ciHigh)})`
                    : '—'}
                  {p?.note && <div className="muted small">{p.note}</div>}
                </td>
                <td>{p && p.n > 0 ? p.wilcoxonP.toPrecision(3) : '—'}</td>
                <td>{p ? `${p.winsA} / ${p.winsB}` : '—'}</td>
                <td data-testid="summary-failed">
                  {a?.n_failed ?? 0} / {c?.n_failed ?? 0}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <div className="row wrap">
        <button onClick={() => actions.exportResults('results')} data-testid="export-results">
          results.csv
        </button>
        <button onClick={() => actions.exportResults('summary')} data-testid="export-summary">
          summary.csv
        </button>
        <button onClick={() => actions.exportResults('paired')} data-testid="export-paired">
          paired.csv
        </button>
        <button onClick={() => actions.exportResults('provenance')} data-testid="export-provenance">
          provenance.json
        </button>
      </div>
      <Figures rows={b.rows} rule={b.rule} />
    </section>
  );
}

function Runs() {
  const actions = useBatchActions();
  const runs = useBatchStore((s) => s.runs);
  const current = useBatchStore((s) => s.runId);
  if (runs.length === 0) return null;
  return (
    <section className="card" data-testid="batch-runs">
      <h3>Saved runs (this browser)</h3>
      <table className="grid">
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} className={r.id === current ? 'current' : ''}>
              <td>{r.dataset}</td>
              <td className="small">{r.createdAt.slice(0, 19).replace('T', ' ')}</td>
              <td>{r.status}</td>
              <td>
                {r.doneUnits}/{r.totalUnits}
              </td>
              <td>
                <button onClick={() => void actions.loadRun(r.id)}>Show</button>{' '}
                <button onClick={() => void actions.deleteRun(r.id)}>Delete</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function BatchView() {
  const actions = useBatchActions();
  const phase = useBatchStore((s) => s.phase);
  const status = useBatchStore((s) => s.status);
  const dataset = useBatchStore((s) => s.dataset);
  const layout = useBatchStore((s) => s.layout);
  const inputRef = useRef<HTMLInputElement>(null);
  const [drag, setDrag] = useState(false);
  return (
    <div className="page batch" data-testid="batch-view">
      <h2>Batch comparison</h2>
      <div
        className={`dropzone ${drag ? 'drag' : ''}`}
        data-testid="batch-dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDrag(true);
        }}
        onDragLeave={() => setDrag(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDrag(false);
          void actions.openDatasetDrop(e.dataTransfer);
        }}
      >
        Drop a dataset folder here (nnU-Net/MSD, AMOS, TotalSegmentator, CHAOS, CAMUS, HC18, FH-PS-AOP, or
        images/ + masks/), or <button onClick={() => inputRef.current?.click()}>choose a folder…</button>
        <input
          ref={inputRef}
          type="file"
          hidden
          multiple
          data-testid="batch-folder-input"
          {...{ webkitdirectory: '' }}
          onChange={(e) => {
            const f = [...(e.target.files ?? [])];
            e.target.value = '';
            void actions.openDatasetFiles(f);
          }}
        />
        <div className="muted small">Files are read in this browser; nothing is uploaded.</div>
      </div>
      {phase === 'scanning' && <p data-testid="batch-scanning">{status || 'Scanning…'}</p>}
      {dataset !== null && (
        <>
          {layout === 'unknown' && <MappingDialog />}
          <Preview />
          <Settings />
          <Progress />
        </>
      )}
      <Failures />
      <Results />
      <Runs />
    </div>
  );
}
