/**
 * Puts an image and its ground truth together: canonical orientation for both, a strict grid check,
 * a label table, and per-structure statistics (which slices hold it, where it is largest).
 */
import { AppError } from '../errors';
import { contentHash } from '../hash';
import { assertSameGrid, canonicalize, labelAreasPerSlice } from '../image/volume';
import type { Modality, Volume } from '../image/types';
import { LABEL_TABLES, labelName, type LabelTable } from './labels';
import type { ReadResult } from './types';

export interface StructureInfo {
  readonly value: number;
  readonly name: string;
  readonly slices: number;
  readonly bestSlice: number;
  /** Pixel area per slice. */
  readonly areas: Uint32Array;
}

export interface GroundTruth {
  readonly name: string;
  readonly volume: Volume;
  readonly table: LabelTable;
  /** True when the reference masks are a model's output (TotalSegmentator examples), not manual annotation. */
  readonly isModelOutput: boolean;
  readonly notes: readonly string[];
}

export interface Study {
  readonly id: string;
  readonly name: string;
  readonly format: string;
  readonly modality: Modality;
  /** Canonical (LPS-ordered) image. */
  readonly image: Volume;
  /** Interleaved RGB of a colour 2D image (models see it instead of the grey values). */
  readonly rgb?: Uint8Array;
  readonly is8bit: boolean;
  readonly notes: readonly string[];
  readonly gt: GroundTruth | null;
  readonly structures: readonly StructureInfo[];
  /** The image's geometry as stored, for exports back onto the source grid. */
  readonly sourceGeometry: Pick<Volume, 'dims' | 'spacing' | 'origin' | 'direction'>;
  readonly isDicom: boolean;
  /** UIDs a DICOM SEG export references (DICOM sources only). */
  readonly dicom?: ReadResult['dicom'];
  readonly frameOfReference?: string;
}

/** Guesses the modality of a file without a modality tag: CT has air near −1000 HU. */
export function guessModality(r: ReadResult, name: string): Modality {
  if (r.modality) return r.modality;
  if (/(^|[^a-z])(us|ultrasound|hc18|camus|echo|_hc)([^a-z]|$)/i.test(name)) return 'US';
  if (r.is8bit) return /ct/i.test(name) ? 'CT' : 'OT';
  let min = Infinity;
  const d = r.volume.data;
  const step = Math.max(1, Math.floor(d.length / 200_000));
  for (let i = 0; i < d.length; i += step) min = Math.min(min, d[i] ?? 0);
  if (min <= -500) return 'CT';
  return /(^|[^a-z])ct([^a-z]|$)/i.test(name) ? 'CT' : 'MR';
}

/** Picks the label table a label map most likely uses. */
export function guessLabelTable(values: readonly number[], modality: Modality, gtName: string): LabelTable {
  const set = new Set(values);
  if (/hc18|_annotation|_hc/i.test(gtName)) return LABEL_TABLES.hc18;
  if ([63, 126, 189, 252].some((v) => set.has(v)) && values.every((v) => [63, 126, 189, 252].includes(v)))
    return LABEL_TABLES['chaos-mr'];
  if (values.length === 1 && (values[0] === 255 || values[0] === 1)) return LABEL_TABLES.binary;
  if (/amos/i.test(gtName)) return LABEL_TABLES.amos;
  if (/camus|patient\d{4}/i.test(gtName)) return LABEL_TABLES.camus;
  const max = Math.max(0, ...values);
  if (modality === 'MR' && max <= 50) return LABEL_TABLES['totalseg-total_mr'];
  if (max <= 117) return LABEL_TABLES['totalseg-total'];
  return { id: 'custom', label: 'unnamed labels', names: new Map() };
}

export interface AssembleOptions {
  readonly name: string;
  readonly modality?: Modality;
  readonly gtName?: string;
  readonly table?: LabelTable;
  readonly gtIsModelOutput?: boolean;
  readonly extraNames?: ReadonlyMap<number, string>;
}

export function assembleStudy(image: ReadResult, gt: ReadResult | null, opts: AssembleOptions): Study {
  const modality = opts.modality ?? guessModality(image, opts.name);
  const img = canonicalize({
    ...image.volume,
    modality,
    ...(image.frameOfReference ? { frameOfReference: image.frameOfReference } : {}),
  });
  const notes = [...image.notes];
  let truth: GroundTruth | null = null;
  let structures: StructureInfo[] = [];
  if (gt) {
    const lab = canonicalize({
      ...gt.volume,
      modality,
      ...(gt.frameOfReference ? { frameOfReference: gt.frameOfReference } : {}),
    });
    assertSameGrid(img, lab, `Ground truth '${opts.gtName ?? 'mask'}'`);
    const areas = labelAreasPerSlice(lab);
    const values = [...areas.keys()].sort((a, b) => a - b);
    const table = gt.labelNames
      ? { id: 'custom' as const, label: 'from the file', names: gt.labelNames }
      : (opts.table ?? guessLabelTable(values, modality, opts.gtName ?? ''));
    const names = new Map(table.names);
    for (const [k, v] of opts.extraNames ?? []) names.set(k, v);
    const t: LabelTable = { ...table, names };
    truth = {
      name: opts.gtName ?? 'ground truth',
      volume: lab,
      table: t,
      isModelOutput: opts.gtIsModelOutput ?? /example_seg|totalseg/i.test(opts.gtName ?? ''),
      notes: gt.notes,
    };
    structures = values.map((value) => {
      const a = areas.get(value) ?? new Uint32Array(0);
      let best = 0;
      let count = 0;
      a.forEach((x, k) => {
        if (x > 0) count++;
        if (x > (a[best] ?? 0)) best = k;
      });
      return { value, name: labelName(t, value), slices: count, bestSlice: best, areas: a };
    });
  }
  if (image.rgb && img.dims[2] !== 1)
    throw new AppError('unsupported-format', 'Colour volumes are not supported; use greyscale.', {
      subject: opts.name,
    });
  const id = contentHash(
    new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength),
    Float64Array.from([...img.dims, ...img.spacing]),
  );
  return {
    id,
    name: opts.name,
    format: image.format,
    modality,
    image: img,
    ...(image.rgb ? { rgb: image.rgb } : {}),
    is8bit: image.is8bit,
    notes,
    gt: truth,
    structures,
    sourceGeometry: {
      dims: image.volume.dims,
      spacing: image.volume.spacing,
      origin: image.volume.origin,
      direction: image.volume.direction,
    },
    isDicom: image.format === 'dicom',
    ...(image.dicom ? { dicom: image.dicom } : {}),
    ...(image.frameOfReference ? { frameOfReference: image.frameOfReference } : {}),
  };
}
