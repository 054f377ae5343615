/**
 * Aggregation of batch rows: the summary table (per dataset × modality × structure × model × strategy ×
 * n × rule × metric), the paired SAM 2 − SAM comparison per group, and the two figures of the paper.
 * A selection rule is applied here, at analysis time, from the `selected_by` column.
 */
import type { SelectionRule } from '../core/models/selection';
import { aggregate, aggregatePaired, type Describe, type PairedGroupComparison } from '../core/stats';
import type { ResultRow } from './results';

export type MetricId = 'dice' | 'iou' | 'nsd' | 'hd95';
export const METRICS: readonly MetricId[] = ['dice', 'iou', 'nsd', 'hd95'];

export function selectedRows(rows: readonly ResultRow[], rule: SelectionRule): ResultRow[] {
  return rows.filter((r) => r.selected_by.split('|').includes(rule));
}

const SEP = '\u241f';
const groupKey = (r: ResultRow, withModel: boolean) =>
  [
    r.dataset,
    r.modality,
    r.structure,
    ...(withModel ? [r.model_slot, r.model_label] : []),
    r.strategy,
    String(r.n_points),
  ].join(SEP);

export interface SummaryRow {
  readonly dataset: string;
  readonly modality: string;
  readonly structure: string;
  readonly model_slot: string;
  readonly model_label: string;
  readonly strategy: string;
  readonly n_points: number;
  readonly rule: string;
  readonly metric: string;
  readonly n: number;
  readonly n_missing: number;
  readonly mean: number;
  readonly sd: number;
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  readonly iqr: number;
}

export const SUMMARY_COLUMNS: readonly (keyof SummaryRow)[] = [
  'dataset',
  'modality',
  'structure',
  'model_slot',
  'model_label',
  'strategy',
  'n_points',
  'rule',
  'metric',
  'n',
  'n_missing',
  'mean',
  'sd',
  'median',
  'q1',
  'q3',
  'iqr',
];

function metricOf(r: ResultRow, m: MetricId): number | null {
  const v = r[m];
  return v === null || !Number.isFinite(v) ? null : v;
}

export function summarize(
  rows: readonly ResultRow[],
  rules: readonly SelectionRule[],
  metrics: readonly MetricId[] = METRICS,
): SummaryRow[] {
  const out: SummaryRow[] = [];
  for (const rule of rules) {
    const sel = selectedRows(rows, rule);
    if (sel.length === 0) continue;
    for (const metric of metrics) {
      const agg: Map<string, Describe> = aggregate(
        sel,
        (r) => groupKey(r, true),
        (r) => metricOf(r, metric),
      );
      for (const [k, d] of agg) {
        const [
          dataset = '',
          modality = '',
          structure = '',
          model_slot = '',
          model_label = '',
          strategy = '',
          n = '0',
        ] = k.split(SEP);
        out.push({
          dataset,
          modality,
          structure,
          model_slot,
          model_label,
          strategy,
          n_points: Number(n),
          rule,
          metric,
          n: d.n,
          n_missing: d.nMissing,
          mean: d.mean,
          sd: d.sd,
          median: d.median,
          q1: d.q1,
          q3: d.q3,
          iqr: d.iqr,
        });
      }
    }
  }
  return out.sort(
    (a, b) =>
      a.dataset.localeCompare(b.dataset) ||
      a.modality.localeCompare(b.modality) ||
      a.structure.localeCompare(b.structure) ||
      a.strategy.localeCompare(b.strategy) ||
      a.n_points - b.n_points ||
      a.model_slot.localeCompare(b.model_slot) ||
      a.rule.localeCompare(b.rule) ||
      a.metric.localeCompare(b.metric),
  );
}

export interface PairedRow extends PairedGroupComparison {
  readonly dataset: string;
  readonly modality: string;
  readonly structure: string;
  readonly strategy: string;
  readonly n_points: number;
  readonly metric: MetricId;
  readonly rule: SelectionRule;
}

/** SAM 2 − SAM on the same units, per group: mean difference, bootstrap CI, Wilcoxon p, wins. */
export function pairedSummary(
  rows: readonly ResultRow[],
  rule: SelectionRule,
  metric: MetricId,
  seed: string,
  resamples = 2000,
): PairedRow[] {
  const sel = selectedRows(rows, rule);
  const res = aggregatePaired(
    sel,
    {
      groupOf: (r) => groupKey(r, false),
      unitOf: (r) => `${r.case}|${r.slice}|${r.label_value}`,
      armOf: (r) => (r.model_slot === 'sam' ? 'a' : 'b'),
      valueOf: (r) => metricOf(r, metric),
    },
    { seed: `${seed}|${rule}|${metric}`, resamples },
  );
  return [...res.values()].map((g) => {
    const [dataset = '', modality = '', structure = '', strategy = '', n = '0'] = g.group.split(SEP);
    return { ...g, dataset, modality, structure, strategy, n_points: Number(n), metric, rule };
  });
}

export interface Figure1Bar {
  readonly modality: string;
  readonly structure: string;
  readonly model: 'sam' | 'sam2';
  readonly mean: number;
  readonly sd: number;
  readonly n: number;
}

/** Figure 1: mean Dice per structure and modality for one prompt setting, SAM vs SAM 2 (averaged over datasets). */
export function figure1(
  rows: readonly ResultRow[],
  rule: SelectionRule,
  strategy = 'centre-random',
  nPoints = 1,
): Figure1Bar[] {
  const sel = selectedRows(rows, rule).filter((r) => r.strategy === strategy && r.n_points === nPoints);
  const agg = aggregate(
    sel,
    (r) => [r.modality, r.structure, r.model_slot].join(SEP),
    (r) => metricOf(r, 'dice'),
  );
  return [...agg].map(([k, d]) => {
    const [modality = '', structure = '', model = 'sam'] = k.split(SEP);
    return { modality, structure, model: model as 'sam' | 'sam2', mean: d.mean, sd: d.sd, n: d.n };
  });
}

export interface Figure2Point {
  readonly modality: string;
  readonly model: 'sam' | 'sam2';
  readonly n_points: number;
  readonly mean: number;
  /** 95 % normal-approximation interval of the mean (mean ± 1.96·sd/√n). */
  readonly ciLow: number;
  readonly ciHigh: number;
  readonly n: number;
}

/** Figure 2: mean Dice vs number of positive clicks, one line per model per modality. */
export function figure2(
  rows: readonly ResultRow[],
  rule: SelectionRule,
  strategy = 'centre-random',
): Figure2Point[] {
  const sel = selectedRows(rows, rule).filter((r) => r.strategy === strategy);
  const agg = aggregate(
    sel,
    (r) => [r.modality, r.model_slot, String(r.n_points)].join(SEP),
    (r) => metricOf(r, 'dice'),
  );
  return [...agg]
    .map(([k, d]) => {
      const [modality = '', model = 'sam', n = '0'] = k.split(SEP);
      const half = d.n > 1 ? (1.96 * d.sd) / Math.sqrt(d.n) : 0;
      return {
        modality,
        model: model as 'sam' | 'sam2',
        n_points: Number(n),
        mean: d.mean,
        ciLow: d.mean - half,
        ciHigh: d.mean + half,
        n: d.n,
      };
    })
    .sort(
      (a, b) =>
        a.modality.localeCompare(b.modality) || a.model.localeCompare(b.model) || a.n_points - b.n_points,
    );
}

export interface ScatterPoint {
  readonly dataset: string;
  readonly case: string;
  readonly slice: number;
  readonly structure: string;
  readonly label_value: number;
  readonly modality: string;
  readonly points: string;
  readonly box: string;
  readonly sam: number;
  readonly sam2: number;
}

/** Per-unit SAM vs SAM 2 Dice for one strategy and n (clicking a point opens the unit in the viewer). */
export function scatter(
  rows: readonly ResultRow[],
  rule: SelectionRule,
  strategy = 'centre-random',
  nPoints = 1,
): ScatterPoint[] {
  const sel = selectedRows(rows, rule).filter((r) => r.strategy === strategy && r.n_points === nPoints);
  const by = new Map<string, { a?: ResultRow; b?: ResultRow }>();
  for (const r of sel) {
    const k = [r.dataset, r.case, r.slice, r.label_value].join(SEP);
    const e = by.get(k) ?? {};
    if (r.model_slot === 'sam') e.a = r;
    else e.b = r;
    by.set(k, e);
  }
  const out: ScatterPoint[] = [];
  for (const { a, b } of by.values()) {
    if (!a || !b) continue;
    out.push({
      dataset: a.dataset,
      case: a.case,
      slice: a.slice,
      structure: a.structure,
      label_value: a.label_value,
      modality: a.modality,
      points: a.points,
      box: a.box,
      sam: a.dice,
      sam2: b.dice,
    });
  }
  return out;
}
