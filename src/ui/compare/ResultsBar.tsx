import { SELECTION_LABELS } from '../../core/models/selection';
import { useCompareStore, SLOT_LABEL, type Slot } from '../../state/compare';
import { useActions } from '../context';
import { CandidateThumbnail } from './CandidateThumbnail';
import { fmtMs, fmtNum, fmtSigned } from '../format';

function Thumb({ slot, index }: { slot: Slot; index: number }) {
  const actions = useActions();
  const r = useCompareStore((s) => s.results[slot]);
  const c = r.candidates[index];
  // The decoded masks stay in the engine, not the store: each store change for this slot (a new
  // decode, another selection) renders this again and asks for the candidate afresh; the canvas is
  // redrawn only when the image or the mask is another one.
  const view = actions.candidate(slot, index);
  if (!c) return null;
  const selected = r.selected === index;
  return (
    <figure className={`thumb ${selected ? 'selected' : ''}`} data-testid={`candidate-${slot}-${index}`}>
      {view ? <CandidateThumbnail slot={slot} image={view.image} mask={view.mask} /> : <canvas />}
      <figcaption>
        <span>
          #{index + 1} pIoU {c.predictedIou.toFixed(2)}
        </span>
        {c.dice !== null && <span>Dice {c.dice.toFixed(2)}</span>}
      </figcaption>
    </figure>
  );
}

function MetricsRow({ slot }: { slot: Slot }) {
  const r = useCompareStore((s) => s.results[slot]);
  const m = r.metrics;
  const spacingKnown = useCompareStore((s) => s.study?.spacingKnown ?? false);
  const unit = spacingKnown ? 'mm' : 'px';
  return (
    <tr data-testid={`metrics-${slot}`}>
      <th className={`slot-${slot}`}>{SLOT_LABEL[slot]}</th>
      <td data-testid={`dice-${slot}`}>{fmtNum(m?.dice)}</td>
      <td data-testid={`iou-${slot}`}>{fmtNum(m?.iou)}</td>
      <td data-testid={`nsd-${slot}`}>{fmtNum(m?.nsd)}</td>
      <td data-testid={`hd95-${slot}`}>
        {m ? (m.hd95 === null ? 'n/a' : `${m.hd95.toFixed(1)} ${unit}`) : '—'}
      </td>
      <td>{fmtMs(r.encodeMs)}</td>
      <td
        data-testid={`decode-${slot}`}
        data-worker={r.decodeWorker}
        title={
          r.decodeWorker
            ? `Decoded in the ${r.decodeWorker === 'decoder' ? 'decoder' : 'inference'} worker, ${r.decodeThreads ?? '?'} thread(s)`
            : undefined
        }
      >
        {fmtMs(r.decodeMs)}
      </td>
      <td>{r.provider ?? '—'}</td>
    </tr>
  );
}

/** The three multimask candidates of one model, with predicted IoU (and Dice where GT exists). */
export function CandidateStrip({ slot }: { slot: Slot }) {
  const n = useCompareStore((s) => s.results[slot].candidates.length);
  const single = useCompareStore((s) => s.results[slot].selected === 'single');
  // Always laid out at the same height: a strip that came and went with each prompt resized the
  // viewport above it, so the image jumped and both viewports re-rendered on every click.
  return (
    <div className="cand-row" data-testid={`candidates-${slot}`}>
      {n === 0 && <span className="muted small">Multimask candidates appear here after a prompt.</span>}
      {Array.from({ length: n }, (_, i) => (
        <Thumb key={i} slot={slot} index={i} />
      ))}
      {single && <span className="muted small">single-mask token selected</span>}
    </div>
  );
}

/** Per-model readout after every decode and the SAM 2 − SAM difference. */
export function ResultsBar() {
  const a = useCompareStore((s) => s.results.sam.metrics);
  const b = useCompareStore((s) => s.results.sam2.metrics);
  const rule = useCompareStore((s) => s.rule);
  const nsdTol = useCompareStore((s) => (s.study?.spacingKnown ? '2 mm' : '2 px'));
  return (
    <div className="results" data-testid="results">
      <table className="metrics">
        <thead>
          <tr>
            <th />
            <th>Dice</th>
            <th>IoU</th>
            <th title={`Normalised surface Dice at ${nsdTol}`}>NSD@{nsdTol}</th>
            <th>HD95</th>
            <th>encode</th>
            <th>decode</th>
            <th>runs on</th>
          </tr>
        </thead>
        <tbody>
          <MetricsRow slot="sam" />
          <MetricsRow slot="sam2" />
          <tr className="diff" data-testid="metrics-diff">
            <th>SAM 2 − SAM</th>
            <td data-testid="dice-diff">{a && b ? fmtSigned(b.dice - a.dice) : '—'}</td>
            <td>{a && b ? fmtSigned(b.iou - a.iou) : '—'}</td>
            <td>{a && b ? fmtSigned(b.nsd - a.nsd) : '—'}</td>
            <td>{a?.hd95 != null && b?.hd95 != null ? fmtSigned(b.hd95 - a.hd95, 1) : '—'}</td>
            <td colSpan={3} className="muted">
              mask rule: {SELECTION_LABELS[rule]}
            </td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}
