/**
 * From a set of dropped files to an image and its ground truth: which file is the image, which are
 * masks (one label map, or binary masks per structure as SAM-Med2D ships them), HC18 outlines filled,
 * and side files (a pixel-size CSV, a labels JSON) applied. Pure: used by the app, the batch runner and
 * the command line.
 */
import { AppError, toAppError } from '../errors';
import { fillOutline } from '../image/morphology';
import type { Volume } from '../image/types';
import { readSingleFile } from './index';
import type { InputFile, ReadOptions, ReadResult } from './types';

export interface MaskSet {
  readonly result: ReadResult;
  readonly name: string;
  /** Names per label value, from the file names (per-structure masks) or a sidecar JSON. */
  readonly names: ReadonlyMap<number, string>;
}

const MASK_NAME = /(seg|label|mask|gt|ground|annotation|_\d{3}\.png$)/i;

export function isMaskName(name: string): boolean {
  return MASK_NAME.test(name.split('/').pop() ?? name);
}

export function isSideFile(name: string): boolean {
  return /\.(csv|json|txt|md)$/i.test(name);
}

/** HC18 `training_set_pixel_size_and_HC.csv`: filename → mm per pixel. */
export function parsePixelSizeCsv(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const header = (lines[0] ?? '').toLowerCase().split(',');
  const fi = header.findIndex((h) => h.includes('filename'));
  const pi = header.findIndex((h) => h.includes('pixel size'));
  if (fi < 0 || pi < 0) return out;
  for (const l of lines.slice(1)) {
    const cols = l.split(',');
    const v = Number(cols[pi]);
    const f = cols[fi]?.trim();
    if (f && Number.isFinite(v) && v > 0) out.set(f, v);
  }
  return out;
}

/** A labels sidecar: `{"1": "liver", …}` or `{"labels": {...}}` (MSD value→name or nnU-Net name→value). */
export function parseLabelsJson(text: string): Map<number, string> {
  const out = new Map<number, string>();
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return out;
  }
  // dcmqi's segmentation meta JSON (QIICR/dcmqi doc/schemas/seg-schema.json): `segmentAttributes` is an
  // array per label-map file of arrays of segments, each with `labelID` and `SegmentLabel` (else
  // `SegmentDescription`, else the property type's `CodeMeaning`). The first file's entries win.
  if (typeof j === 'object' && j !== null && 'segmentAttributes' in j && Array.isArray(j.segmentAttributes)) {
    for (const seg of (j.segmentAttributes as unknown[]).flat()) {
      if (typeof seg !== 'object' || seg === null) continue;
      const a = seg as Record<string, unknown>;
      const id = a['labelID'];
      const type = a['SegmentedPropertyTypeCodeSequence'];
      const meaning =
        typeof type === 'object' && type !== null
          ? (type as Record<string, unknown>)['CodeMeaning']
          : undefined;
      const name = [a['SegmentLabel'], a['SegmentDescription'], meaning].find(
        (x): x is string => typeof x === 'string' && x.trim() !== '',
      );
      if (typeof id === 'number' && Number.isInteger(id) && id > 0 && name && !out.has(id)) out.set(id, name);
    }
    return out;
  }
  const obj: unknown = typeof j === 'object' && j !== null && 'labels' in j ? j.labels : j;
  if (!obj || typeof obj !== 'object') return out;
  for (const [k, v] of Object.entries(obj)) {
    if (/^\d+$/.test(k) && typeof v === 'string') out.set(Number(k), v);
    else if (typeof v === 'number' && Number.isInteger(v)) out.set(v, k);
  }
  out.delete(0);
  return out;
}

/** Fills a 2D outline annotation (HC18) when the file is named like one or is a thin closed curve. */
export function fillIfOutline(r: ReadResult, name: string): ReadResult {
  if (r.volume.dims[2] !== 1) return r;
  const [w, h] = r.volume.dims;
  const bin = { width: w, height: h, data: Uint8Array.from(r.volume.data, (v) => (v ? 1 : 0)) };
  let area = 0;
  for (const v of bin.data) area += v;
  if (area === 0) return r;
  const filled = fillOutline(bin);
  let fa = 0;
  for (const v of filled.data) fa += v;
  const isOutline = /annotation/i.test(name) || area / fa < 0.1;
  if (!isOutline || fa <= area * 1.05) return r;
  const value = Math.max(...r.volume.data.filter((v) => v !== 0));
  const data = Uint8Array.from(filled.data, (v) => (v ? value : 0));
  return {
    ...r,
    volume: { ...r.volume, data },
    notes: [
      ...r.notes,
      `${name.split('/').pop() ?? name}: the annotation is an outline; it was filled to get the structure (HC18 convention).`,
    ],
  };
}

/** Structure name from SAM-Med2D mask names `<image>_<structure>_<k>.png`, given the image stem. */
export function structureFromMaskName(maskName: string, imageStem: string | null): string {
  const base = (maskName.split('/').pop() ?? maskName).replace(/\.(png|jpe?g|nii(\.gz)?|nrrd|mha)$/i, '');
  let rest = imageStem && base.startsWith(`${imageStem}_`) ? base.slice(imageStem.length + 1) : base;
  rest = rest.replace(/_\d{3}$/, '');
  return rest || base;
}

/**
 * Combines mask files for one image into one label map. A single file is used as is (outlines filled);
 * several binary files become values 1…n by structure name (components `_000`, `_001` of one structure
 * share a value).
 */
export function combineMasks(
  files: readonly InputFile[],
  imageName: string | null,
  opts: ReadOptions = {},
): MaskSet {
  const reads = files.map((f) => {
    try {
      return { f, r: readSingleFile(f, opts) };
    } catch (e) {
      throw toAppError(e, 'corrupt-file', f.name);
    }
  });
  const first = reads[0];
  if (!first) throw new AppError('invalid-argument', 'No mask file given.');
  if (reads.length === 1)
    return { result: fillIfOutline(first.r, first.f.name), name: first.f.name, names: new Map() };
  const stem = imageName ? (imageName.split('/').pop() ?? imageName).replace(/\.[^.]+$/, '') : null;
  const [w, h, d] = first.r.volume.dims;
  const data = new Uint8Array(w * h * d);
  const names = new Map<number, string>();
  const valueOf = new Map<string, number>();
  for (const { f, r } of reads) {
    if (r.volume.dims.some((x, j) => x !== first.r.volume.dims[j])) {
      throw new AppError(
        'grid-mismatch',
        `${f.name} is ${r.volume.dims.join('×')} but ${first.f.name} is ${first.r.volume.dims.join('×')}; masks must share the image grid.`,
        {
          subject: f.name,
        },
      );
    }
    const structure = structureFromMaskName(f.name, stem);
    let value = valueOf.get(structure);
    if (value === undefined) {
      value = valueOf.size + 1;
      if (value > 255)
        throw new AppError('unsupported-format', 'More than 255 structures in one folder of masks.');
      valueOf.set(structure, value);
      names.set(value, structure);
    }
    const filled = fillIfOutline(r, f.name);
    filled.volume.data.forEach((v, k) => {
      if (v) data[k] = value;
    });
  }
  const volume: Volume = { ...first.r.volume, data };
  return {
    result: {
      ...first.r,
      volume,
      notes: [
        `${reads.length} mask files combined into ${valueOf.size} structure${valueOf.size === 1 ? '' : 's'}.`,
      ],
    },
    name: `${valueOf.size} structure mask${valueOf.size === 1 ? '' : 's'}`,
    names,
  };
}

/** Applies a known pixel size (mm) to a 2D image or mask read without one. */
export function withPixelSpacing(r: ReadResult, mm: number): ReadResult {
  return { ...r, volume: { ...r.volume, spacing: [mm, mm, 1], spacingKnown: true } };
}
