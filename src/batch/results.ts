/**
 * The batch result schema: one row per unit × model × strategy × n × candidate, written to CSV with the
 * prompt points in image pixel coordinates. Browser and command line write the same columns.
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
  /** 0–2: multimask candidates; `single`: Meta's single-mask token (sam1-meta). */
  readonly candidate: string;
  readonly predicted_iou: number;
  /** The selection rules that pick this candidate, `|`-separated (predicted-iou, first, oracle, single). */
  readonly selected_by: string;
  readonly dice: number;
  readonly iou: number;
  readonly nsd: number;
  readonly hd95: number | null;
  readonly pred_area: number;
  readonly gt_area: number;
  readonly spacing_mm: string;
  readonly window: string;
  readonly encode_ms: number;
  readonly embedding_reused: boolean;
  readonly decode_ms: number;
  readonly seed: number;
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
