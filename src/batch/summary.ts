/**
 * Aggregation of batch rows: the summary table (per dataset × modality × structure × model × strategy ×
 * n × rule × metric), the paired SAM 2 − SAM comparison per group, and the two figures of the paper.
 * A selection rule is applied here, at analysis time, from the `selected_by` column.
 *
 * Error rows (a prompt set a model could not run) are never picked by a rule, so no statistic includes
 * them; the summary and the paired table count them (`n_failed`, `nFailed`) so a group's n can be read
 * against what was attempted.
 */
import type { SelectionRule } from '../core/models/selection';
import {
  aggregate,
  aggregatePaired,
  describe,
  pairedComparison,
  type Describe,
  type PairedGroupComparison,
} from '../core/stats';
import { isErrorRow, type ResultRow } from './results';

export type MetricId = 'dice' | 'iou' | 'nsd' | 'hd95';
export const METRICS: readonly MetricId[] = ['dice', 'iou', 'nsd', 'hd95'];
/** Which way each metric improves: overlap and surface agreement up, a distance (HD95) down. */
export const METRIC_BETTER: Readonly<Record<MetricId, 'higher' | 'lower'>> = {
  dice: 'higher',
  iou: 'higher',
  nsd: 'higher',
  hd95: 'lower',
};

/**
 * Gap 8 (model-contracts.md): the public SAM 2 exports give the 3 multimask outputs only, with no
 * single-mask token, so Meta's single-mask rule cannot be applied to them. Under `single` SAM 2 is n/a:
 * it has no rows, and no SAM 2 − SAM pair is formed (SAM's token-0 pick is never set against SAM 2's
 * multimask pick).
 */
export const SINGLE_RULE_SAM2_NOTE =
  "SAM 2 exports have no single-mask token (3 multimask outputs only): under this rule SAM 2 is n/a and no SAM 2 − SAM pairs are formed. Compare SAM 2 with SAM under 'highest predicted IoU' (which is also what the single-mask rule picks for one click).";

/** The computed rows a rule picks (error rows never are). */
export function selectedRows(rows: readonly ResultRow[], rule: SelectionRule): ResultRow[] {
  return rows.filter((r) => !isErrorRow(r) && r.selected_by.split('|').includes(rule));
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
const pairUnit = (r: ResultRow) => `${r.case}|${r.slice}|${r.label_value}`;

/** Error rows per key. */
function countErrors(rows: readonly ResultRow[], keyOf: (r: ResultRow) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) if (isErrorRow(r)) out.set(keyOf(r), (out.get(keyOf(r)) ?? 0) + 1);
  return out;
}

/**
 * Models (slot + label) that have Meta's single-mask token: some row of theirs is that output, or their
 * contract is the one that has it (a model whose every decode failed has no rows to tell).
 */
function singleMaskModels(rows: readonly ResultRow[]): Set<string> {
  const out = new Set<string>();
  for (const r of rows)
    if (r.candidate === 'single' || r.contract === 'sam1-meta') out.add(`${r.model_slot}|${r.model_label}`);
  return out;
}

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
  /** Units of this group whose prompt set this model could not run (error rows): in no statistic. */
  readonly n_failed: number;
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
  // Added with the error rows: appended so that readers by position keep working.
  'n_failed',
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
  const failed = countErrors(rows, (r) => groupKey(r, true));
  const single = singleMaskModels(rows);
  const none = describe([]);
  for (const rule of rules) {
    const sel = selectedRows(rows, rule);
    for (const metric of metrics) {
      const agg: Map<string, Describe> = aggregate(
        sel,
        (r) => groupKey(r, true),
        (r) => metricOf(r, metric),
      );
      // A group whose every prompt set failed still gets its row: n 0, and how many failed.
      for (const [k] of failed) {
        if (agg.has(k)) continue;
        const [, , , slot = '', label = ''] = k.split(SEP);
        if (rule === 'single' && !single.has(`${slot}|${label}`)) continue;
        agg.set(k, none);
      }
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
          n_failed: failed.get(k) ?? 0,
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
  /** Units of this group where either model's prompt set failed (an error row): not paired. */
  readonly nFailed: number;
  /**
   * Units left out because the two picks are different kinds of output (one model's single-mask token
   * against the other's multimask candidate): not like with like.
   */
  readonly nExcluded: number;
  /** Why units are missing from the pairs ('' when none is). */
  readonly note: string;
}

/** paired.csv, the same in the browser's export and the command line's. */
export const PAIRED_COLUMNS = [
  'dataset',
  'modality',
  'structure',
  'strategy',
  'n_points',
  'rule',
  'metric',
  'n',
  'nDropped',
  'meanDiff',
  'ciLow',
  'ciHigh',
  'wilcoxonP',
  'wilcoxonStatistic',
  'method',
  'winsA',
  'winsB',
  'ties',
  'nFailed',
  'nExcluded',
  'note',
] as const satisfies readonly (keyof PairedRow)[];

const pickKind = (r: ResultRow) => (r.candidate === 'single' ? 'single-mask token' : 'multimask');

/**
 * SAM 2 − SAM on the same units, per group: mean difference, bootstrap CI, Wilcoxon p, wins. Only like is
 * paired with like: a unit whose two picks are different kinds of output (SAM's single-mask token against
 * a multimask candidate) is left out and counted, and a model with no rows under the rule (SAM 2 under
 * `single`, gap 8) is said so in `note`. Units where either model failed are counted in `nFailed`.
 */
export function pairedSummary(
  rows: readonly ResultRow[],
  rule: SelectionRule,
  metric: MetricId,
  seed: string,
  resamples = 2000,
): PairedRow[] {
  const groupOf = (r: ResultRow) => groupKey(r, false);
  const armOf = (r: ResultRow) => (r.model_slot === 'sam' ? 'a' : 'b');
  const sel = selectedRows(rows, rule);
  // Like with like: the kind of output each side picked, per group and unit.
  const kinds = new Map<string, { a?: string; b?: string }>();
  for (const r of sel) {
    const k = `${groupOf(r)}${SEP}${pairUnit(r)}`;
    kinds.set(k, { ...kinds.get(k), [armOf(r)]: pickKind(r) });
  }
  const excluded = new Map<string, number>();
  const kept = sel.filter((r) => {
    const k = kinds.get(`${groupOf(r)}${SEP}${pairUnit(r)}`);
    const unlike = k?.a !== undefined && k.b !== undefined && k.a !== k.b;
    if (unlike && armOf(r) === 'a') excluded.set(groupOf(r), (excluded.get(groupOf(r)) ?? 0) + 1);
    return !unlike;
  });
  // Units with a failed prompt set on either side, per group.
  const failedUnits = new Map<string, Set<string>>();
  for (const r of rows)
    if (isErrorRow(r))
      failedUnits.set(groupOf(r), new Set([...(failedUnits.get(groupOf(r)) ?? []), pairUnit(r)]));
  // Which sides have computed rows at all (under any rule), to tell "n/a under this rule" from "failed".
  const computed = new Set(rows.filter((r) => !isErrorRow(r)).map((r) => `${groupOf(r)}${SEP}${armOf(r)}`));
  const picked = new Set(sel.map((r) => `${groupOf(r)}${SEP}${armOf(r)}`));
  const opts = { seed: `${seed}|${rule}|${metric}`, resamples, better: METRIC_BETTER[metric] };
  const res = aggregatePaired(
    kept,
    { groupOf, unitOf: pairUnit, armOf, valueOf: (r) => metricOf(r, metric) },
    opts,
  );
  // Every group of the data gets its row, saying why when nothing is left to pair.
  for (const g of new Set(rows.map(groupOf))) {
    if (res.has(g)) continue;
    const empty = pairedComparison([], [], { ...opts, seed: `${opts.seed}|${g}` });
    res.set(g, { ...empty, group: g, unmatchedA: 0, unmatchedB: 0 });
  }
  return [...res.values()].map((g) => {
    const [dataset = '', modality = '', structure = '', strategy = '', n = '0'] = g.group.split(SEP);
    const nFailed = failedUnits.get(g.group)?.size ?? 0;
    const nExcluded = excluded.get(g.group) ?? 0;
    const notes: string[] = [];
    for (const [arm, name] of [
      ['a', 'SAM'],
      ['b', 'SAM 2'],
    ] as const) {
      const k = `${g.group}${SEP}${arm}`;
      if (computed.has(k) && !picked.has(k))
        notes.push(
          rule === 'single'
            ? arm === 'b'
              ? 'SAM 2 has no single-mask token (its exports give 3 multimask outputs): n/a under this rule, nothing paired.'
              : "SAM has no single-mask token in this export (only Meta's sam1-meta has one): n/a under this rule, nothing paired."
            : `${name} has no output this rule picks: n/a under this rule, nothing paired.`,
        );
    }
    if (nExcluded)
      notes.push(
        `${nExcluded} unit${nExcluded === 1 ? '' : 's'} left out: a single-mask-token pick against a multimask pick is not like with like.`,
      );
    if (nFailed)
      notes.push(`${nFailed} unit${nFailed === 1 ? '' : 's'} left out: a model failed on the prompt set.`);
    return {
      ...g,
      dataset,
      modality,
      structure,
      strategy,
      n_points: Number(n),
      metric,
      rule,
      nFailed,
      nExcluded,
      note: notes.join(' '),
    };
  });
}

/** Error rows grouped by model, strategy and message: what failed, how often, on how many units. */
export interface FailureGroup {
  readonly model_slot: 'sam' | 'sam2';
  readonly model_label: string;
  readonly strategy: string;
  readonly error: string;
  readonly rows: number;
  readonly units: number;
}

export function failureGroups(rows: readonly ResultRow[]): FailureGroup[] {
  const by = new Map<string, { first: ResultRow; rows: number; units: Set<string> }>();
  for (const r of rows) {
    if (!isErrorRow(r)) continue;
    const k = [r.model_slot, r.model_label, r.strategy, r.error].join(SEP);
    const e = by.get(k) ?? { first: r, rows: 0, units: new Set<string>() };
    e.rows++;
    e.units.add(`${r.dataset}|${pairUnit(r)}`);
    by.set(k, e);
  }
  return [...by.values()]
    .map(({ first, rows: n, units }) => ({
      model_slot: first.model_slot,
      model_label: first.model_label,
      strategy: first.strategy,
      error: first.error,
      rows: n,
      units: units.size,
    }))
    .sort((a, b) => b.rows - a.rows || a.model_slot.localeCompare(b.model_slot));
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
    if (!a || !b || a.dice === null || b.dice === null) continue;
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

/** Which models a set of rows came from, and whether any is a test fixture (every view and export says so). */
export interface RowModels {
  readonly sam: readonly string[];
  readonly sam2: readonly string[];
  readonly fixture: boolean;
  /** One line for figure subtitles and table captions. */
  readonly caption: string;
}

export function rowModels(rows: readonly ResultRow[]): RowModels {
  const labels = { sam: new Set<string>(), sam2: new Set<string>() };
  let fixture = false;
  for (const r of rows) {
    labels[r.model_slot].add(r.model_label);
    if (r.is_fixture) fixture = true;
  }
  const sam = [...labels.sam].sort();
  const sam2 = [...labels.sam2].sort();
  const names = `SAM: ${sam.join(', ') || '—'} · SAM 2: ${sam2.join(', ') || '—'}`;
  return {
    sam,
    sam2,
    fixture,
    caption: fixture
      ? `TEST FIXTURE models, not SAM or SAM 2: these numbers check the pipeline, not the models (${names})`
      : names,
  };
}
