/**
 * The batch result schema: one row per unit × model × strategy × n × candidate, written to CSV with the
 * prompt points in image pixel coordinates. Browser and command line write the same columns.
 *
 * A prompt set that a model could not run (its encode or decode threw) is one *error row*: `status`
 * 'error', the message in `error`, the prompt filled in (strategy, n_points, points, box) so it can be
 * reproduced, `candidate` and `selected_by` empty, and every measured value null (an empty CSV cell).
 * No selection rule picks an error row, so statistics leave it out; summaries count it.
 */
export interface ResultRow {
  readonly dataset: string;
  readonly case: string;
  readonly modality: string;
  readonly slice: number;
  readonly structure: string;
  readonly label_value: number;
  readonly model_slot: 'sam' | 'sam2';
  readonly model_id: string;
  readonly model_label: string;
  readonly contract: string;
  readonly is_fixture: boolean;
  readonly strategy: string;
  readonly n_points: number;
  /** `[[x, y, label], …]` in image pixel coordinates (the slice as displayed: canonical orientation). */
  readonly points: string;
  /** `[x0, y0, x1, y1]` or empty. */
  readonly box: string;
  /** 0–2: multimask candidates; `single`: Meta's single-mask token (sam1-meta); empty on an error row. */
  readonly candidate: string;
  /** Null on an error row (as are the metrics below). */
  readonly predicted_iou: number | null;
  /**
   * The selection rules that pick this candidate, `|`-separated (predicted-iou, first, oracle, single);
   * empty on an error row.
   */
  readonly selected_by: string;
  readonly dice: number | null;
  readonly iou: number | null;
  readonly nsd: number | null;
  /** Also null for an empty prediction (HD95 is undefined there). */
  readonly hd95: number | null;
  readonly pred_area: number | null;
  /** The structure's area on the slice; known on an error row too unless the ground truth itself failed. */
  readonly gt_area: number | null;
  readonly spacing_mm: string;
  readonly window: string;
  /** Null when this model's encode of the slice failed. */
  readonly encode_ms: number | null;
  readonly embedding_reused: boolean;
  readonly decode_ms: number | null;
  readonly seed: number;
  /** 'ok', or 'error' for a prompt set the model could not run (see `error`). */
  readonly status: 'ok' | 'error';
  /** What failed (the encode or the decode, with its message); empty when `status` is 'ok'. */
  readonly error: string;
}

export function isErrorRow(r: Pick<ResultRow, 'status'>): boolean {
  return r.status === 'error';
}

/**
 * Rows saved before the status columns existed (IndexedDB, units.jsonl) read as 'ok' with no error:
 * every row then was a computed one.
 */
export function withStatus(r: ResultRow): ResultRow {
  const s = r as Partial<Pick<ResultRow, 'status' | 'error'>> & Omit<ResultRow, 'status' | 'error'>;
  return s.status === 'ok' || s.status === 'error' ? r : { ...s, status: 'ok', error: s.error ?? '' };
}

export const RESULT_COLUMNS: readonly (keyof ResultRow)[] = [
  'dataset',
  'case',
  'modality',
  'slice',
  'structure',
  'label_value',
  'model_slot',
  'model_id',
  'model_label',
  'contract',
  'is_fixture',
  'strategy',
  'n_points',
  'points',
  'box',
  'candidate',
  'predicted_iou',
  'selected_by',
  'dice',
  'iou',
  'nsd',
  'hd95',
  'pred_area',
  'gt_area',
  'spacing_mm',
  'window',
  'encode_ms',
  'embedding_reused',
  'decode_ms',
  'seed',
  // Added after the first release: appended so that readers by position keep working.
  'status',
  'error',
];

export function csvCell(v: unknown): string {
  let s: string;
  if (v === null || v === undefined) s = '';
  else if (typeof v === 'number')
    s = Number.isInteger(v) || !Number.isFinite(v) ? String(v) : v.toPrecision(10).replace(/\.?0+$/, '');
  else if (typeof v === 'string') s = v;
  else if (typeof v === 'boolean') s = v ? 'true' : 'false';
  else s = JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv<T>(rows: readonly T[], columns: readonly (keyof T & string)[]): string {
  const head = columns.join(',');
  const body = rows.map((r) => columns.map((c) => csvCell(r[c])).join(','));
  return [head, ...body].join('\n') + '\n';
}

/** Minimal RFC 4180 parser (quoted fields, doubled quotes, CRLF). */
export function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let field = '';
  let row: string[] = [];
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (q) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else q = false;
      } else field += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += ch;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  const [head, ...body] = rows;
  if (!head) return [];
  return body.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i] ?? ''])));
}

export function unitKey(dataset: string, caseId: string, slice: number, label: number): string {
  return `${dataset}|${caseId}|${slice}|${label}`;
}

/**
 * Parses one results.csv row back into typed values (the inverse of `toCsv(rows, RESULT_COLUMNS)`): an
 * empty cell in a nullable numeric column is null, so error rows and empty-prediction HD95 round-trip.
 * A file from before the status columns reads as all 'ok'.
 */
export function resultRowFromCsv(r: Record<string, string>): ResultRow {
  const text = (k: keyof ResultRow) => r[k] ?? '';
  const num = (k: keyof ResultRow) => Number(r[k]);
  const numOrNull = (k: keyof ResultRow) => {
    const v = r[k];
    return v === undefined || v === '' ? null : Number(v);
  };
  const status = text('status') === 'error' ? 'error' : 'ok';
  return {
    dataset: text('dataset'),
    case: text('case'),
    modality: text('modality'),
    slice: num('slice'),
    structure: text('structure'),
    label_value: num('label_value'),
    model_slot: r['model_slot'] === 'sam2' ? 'sam2' : 'sam',
    model_id: text('model_id'),
    model_label: text('model_label'),
    contract: text('contract'),
    is_fixture: r['is_fixture'] === 'true',
    strategy: text('strategy'),
    n_points: num('n_points'),
    points: r['points'] ?? '[]',
    box: text('box'),
    candidate: text('candidate'),
    predicted_iou: numOrNull('predicted_iou'),
    selected_by: text('selected_by'),
    dice: numOrNull('dice'),
    iou: numOrNull('iou'),
    nsd: numOrNull('nsd'),
    hd95: numOrNull('hd95'),
    pred_area: numOrNull('pred_area'),
    gt_area: numOrNull('gt_area'),
    spacing_mm: text('spacing_mm'),
    window: text('window'),
    encode_ms: numOrNull('encode_ms'),
    embedding_reused: r['embedding_reused'] === 'true',
    decode_ms: numOrNull('decode_ms'),
    seed: num('seed'),
    status,
    error: text('error'),
  };
}
