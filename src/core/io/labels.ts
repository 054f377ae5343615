/**
 * Structure names for label values: the datasets' own tables (dataset-layouts.md). A table that a dataset
 * ships (dataset.json, DICOM SEG segment labels, a sidecar JSON) wins over these. Values absent from a
 * table are shown as "label N" and never guessed.
 */
import totalseg from './tables/totalsegmentator.json';

export type LabelTableId =
  | 'totalseg-total'
  | 'totalseg-total_mr'
  | 'amos'
  | 'chaos-ct'
  | 'chaos-mr'
  | 'camus'
  | 'hc18'
  | 'fh-ps-aop'
  | 'binary';

export interface LabelTable {
  readonly id: LabelTableId | 'custom';
  readonly label: string;
  readonly names: ReadonlyMap<number, string>;
}

const fromRecord = (r: Record<string, string>): Map<number, string> =>
  new Map(Object.entries(r).map(([k, v]) => [Number(k), v]));

export const LABEL_TABLES: Readonly<Record<LabelTableId, LabelTable>> = {
  'totalseg-total': {
    id: 'totalseg-total',
    label: 'TotalSegmentator (total, CT)',
    names: fromRecord(totalseg.total),
  },
  'totalseg-total_mr': {
    id: 'totalseg-total_mr',
    label: 'TotalSegmentator (total_mr, MR)',
    names: fromRecord(totalseg.total_mr),
  },
  amos: {
    id: 'amos',
    label: 'AMOS 2022',
    names: fromRecord({
      '1': 'spleen',
      '2': 'right kidney',
      '3': 'left kidney',
      '4': 'gallbladder',
      '5': 'esophagus',
      '6': 'liver',
      '7': 'stomach',
      '8': 'aorta',
      '9': 'postcava (inferior vena cava)',
      '10': 'pancreas',
      '11': 'right adrenal gland',
      '12': 'left adrenal gland',
      '13': 'duodenum',
      '14': 'bladder',
      '15': 'prostate/uterus',
    }),
  },
  'chaos-ct': { id: 'chaos-ct', label: 'CHAOS CT', names: fromRecord({ '255': 'liver', '1': 'liver' }) },
  'chaos-mr': {
    id: 'chaos-mr',
    label: 'CHAOS MR',
    names: fromRecord({ '63': 'liver', '126': 'right kidney', '189': 'left kidney', '252': 'spleen' }),
  },
  camus: {
    id: 'camus',
    label: 'CAMUS',
    names: fromRecord({
      '1': 'left ventricle (endocardium)',
      '2': 'left ventricle myocardium (epicardium)',
      '3': 'left atrium',
    }),
  },
  hc18: { id: 'hc18', label: 'HC18', names: fromRecord({ '255': 'fetal head', '1': 'fetal head' }) },
  'fh-ps-aop': {
    id: 'fh-ps-aop',
    label: 'FH-PS-AOP (PSFHS)',
    names: fromRecord({ '1': 'pubic symphysis', '2': 'fetal head' }),
  },
  binary: { id: 'binary', label: 'Binary mask', names: fromRecord({ '1': 'structure', '255': 'structure' }) },
};

export function labelName(table: LabelTable | null, value: number): string {
  return table?.names.get(value) ?? `label ${value}`;
}

/** CHAOS MR ground truth is stored with tolerance bands (the challenge's own code): 55–70 → 63, etc. */
export function snapChaosMr(v: number): number {
  if (v >= 55 && v <= 70) return 63;
  if (v >= 110 && v <= 135) return 126;
  if (v >= 175 && v <= 200) return 189;
  if (v >= 240 && v <= 255) return 252;
  return 0;
}

/** Human-friendly form of snake_case structure names. */
export function prettyName(s: string): string {
  return s.replace(/_/g, ' ');
}
