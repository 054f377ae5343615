/**
 * DICOM image series reader. Files are grouped by SeriesInstanceUID; each series becomes one volume in
 * LPS: i along the row direction (first IOP triplet), j along the column direction, k along the slice
 * normal (row × column) in order of position. Slice spacing comes from the positions, never from
 * SliceThickness, and uneven gaps, mixed orientations or mixed sizes refuse the series rather than
 * produce a wrong volume. Multi-frame (enhanced) objects use their functional groups.
 */
import { AppError, toAppError, type ErrorCode } from '../../errors';
import type { Mat3, Modality, Vec3, Volume } from '../../image/types';
import { checkBudget } from '../budget';
import type { InputFile, ReadOptions, ReadResult } from '../types';
import { NATIVE_TS, SOP_SEG, TAG, transferSyntaxName } from './dictionary';
import { cross, dot, fallbackSpacing, frameGeometries, unit, type FrameGeometry } from './geometry';
import { corrupt, num, parseDicomFile, str, type ParsedDicom } from './parse';
import { Assembler, frameSamples, pixelInfo, toRgb, type FrameDecoder, type PixelInfo } from './pixels';

export interface DicomSeries {
  readonly result: ReadResult;
  readonly seriesUid: string;
  readonly studyUid: string;
  readonly description: string;
  readonly sopInstanceUids: readonly string[];
  readonly sopClassUid: string;
  readonly files: readonly string[];
}

/** A file or series that did not load, and why (`code` as in AppError). */
export interface DicomReadError {
  readonly name: string;
  readonly message: string;
  readonly code: ErrorCode;
}

export interface DicomReadOptions extends ReadOptions {
  readonly decoder?: FrameDecoder;
}
/** SOP classes that are not images: skipped with the reason given. */
const SOP_DICOMDIR = '1.2.840.10008.1.3.10';
const SOP_LABELMAP_SEG = '1.2.840.10008.5.1.4.1.1.66.7';
const NON_IMAGE: readonly (readonly [string, string])[] = [
  [SOP_DICOMDIR, 'a DICOMDIR (a directory index, not an image). Load the image files it lists instead.'],
  [SOP_SEG, 'a DICOM Segmentation (SEG). Load it as the ground truth of its image series instead.'],
  [SOP_LABELMAP_SEG, 'a DICOM Label Map Segmentation. Load it as ground truth instead.'],
  [
    '1.2.840.10008.5.1.4.1.1.481.3',
    'an RT Structure Set (contours), which this app does not read. Convert it to DICOM SEG or NIfTI first.',
  ],
  ['1.2.840.10008.5.1.4.1.1.88.', 'a Structured Report (text, no pixels).'],
  ['1.2.840.10008.5.1.4.1.1.11.', 'a Presentation State (display settings, no pixels).'],
  ['1.2.840.10008.5.1.4.1.1.104.', 'an encapsulated document (PDF/CDA), not an image.'],
  ['1.2.840.10008.5.1.4.1.1.66', 'a raw-data, registration or fiducials object, not an image.'],
  ['1.2.840.10008.5.1.4.1.1.481.', 'an RT plan/treatment object, not an image.'],
];

/** Well-known image storage classes: a file of one of these without pixel data was cut short. */
const IMAGE_SOP_PREFIXES = [
  '1.2.840.10008.5.1.4.1.1.2', // CT, enhanced CT
  '1.2.840.10008.5.1.4.1.1.4', // MR, enhanced MR
  '1.2.840.10008.5.1.4.1.1.6.', // US
  '1.2.840.10008.5.1.4.1.1.3.1', // US multi-frame
  '1.2.840.10008.5.1.4.1.1.7', // secondary capture
  '1.2.840.10008.5.1.4.1.1.1', // CR/DX/MG
  '1.2.840.10008.5.1.4.1.1.128', // PET
  '1.2.840.10008.5.1.4.1.1.20', // NM
];
/** Why a parsed file is not an image this reader loads, or null. */
function nonImageReason(p: ParsedDicom): { reason: string; truncated: boolean } | null {
  const ds = p.dataSet;
  if (p.mediaSopClassUid === SOP_DICOMDIR || ds.elements[TAG.directoryRecords]) {
    return { reason: `${p.name} is ${NON_IMAGE[0]?.[1] ?? 'a DICOMDIR'}`, truncated: false };
  }
  for (const [prefix, why] of NON_IMAGE) {
    if (p.sopClassUid === prefix || (prefix.endsWith('.') && p.sopClassUid.startsWith(prefix)))
      return { reason: `${p.name} is ${why}`, truncated: false };
  }
  if (!ds.elements[TAG.pixelData]) {
    if (ds.elements[TAG.floatPixelData] || ds.elements[TAG.doublePixelData]) {
      return {
        reason: `${p.name} stores float pixel data (7FE0,0008/0009), which this app does not read. Convert it to NIfTI.`,
        truncated: false,
      };
    }
    if (IMAGE_SOP_PREFIXES.some((x) => p.sopClassUid.startsWith(x))) {
      return {
        reason: `${p.name} ends before its pixel data (truncated). Copy the file again from its source.`,
        truncated: true,
      };
    }
    return {
      reason: `${p.name} has no pixel data (SOP class ${p.sopClassUid || 'not given'}), so it is not an image.`,
      truncated: false,
    };
  }
  return null;
}
// ---------------------------------------------------------------------------------------------------------
// Series assembly

interface ImageFile {
  readonly parsed: ParsedDicom;
  readonly info: PixelInfo;
  readonly geoms: readonly FrameGeometry[];
  readonly notes: readonly string[];
  readonly index: number;
  readonly seriesUid: string;
  readonly studyUid: string;
  readonly description: string;
  readonly frameOfReference: string;
  readonly modality: string;
  readonly instanceNumber: number;
  readonly seriesNumber: number;
  readonly fallbackSpacing?: { spacing: readonly [number, number]; note: string };
}

function describeImage(p: ParsedDicom, index: number, opts: ReadOptions): ImageFile {
  const info = pixelInfo(p);
  const ds = p.dataSet;
  const pixelBytes = Math.ceil(
    (info.rows * info.columns * info.samplesPerPixel * info.frames * info.bitsAllocated) / 8,
  );
  checkBudget(pixelBytes, p.name, opts);
  const el = ds.elements[TAG.pixelData];
  if (el && !el.encapsulatedPixelData) {
    if (!NATIVE_TS.has(p.transferSyntax)) {
      throw corrupt(
        p.name,
        `its transfer syntax ${transferSyntaxName(p.transferSyntax)} is compressed, but the pixel data is not encapsulated. Re-export it from its source.`,
      );
    }
    if (el.length < pixelBytes) {
      throw corrupt(
        p.name,
        `the pixel data holds ${el.length} bytes, but ${info.columns}×${info.rows}×${info.frames} frame(s) at ${info.bitsAllocated} bits need ${pixelBytes}. Re-export it from its source.`,
      );
    }
  } else if (el && NATIVE_TS.has(p.transferSyntax)) {
    throw corrupt(
      p.name,
      `its pixel data is encapsulated but the transfer syntax ${transferSyntaxName(p.transferSyntax)} is uncompressed. Re-export it from its source.`,
    );
  }
  const { geoms, notes } = frameGeometries(p, info.frames);
  const fb = geoms.every((g) => !g.pixelSpacing) ? fallbackSpacing(ds) : undefined;
  const seriesNumber = num(ds, TAG.seriesNumber);
  const instanceNumber = num(ds, TAG.instanceNumber);
  return {
    parsed: p,
    info,
    geoms,
    notes: [...p.notes, ...notes],
    index,
    seriesUid: str(ds, TAG.seriesUid),
    studyUid: str(ds, TAG.studyUid),
    description: str(ds, TAG.seriesDescription),
    frameOfReference: str(ds, TAG.frameOfReference),
    modality: str(ds, TAG.modality).toUpperCase(),
    instanceNumber: instanceNumber !== undefined && Number.isFinite(instanceNumber) ? instanceNumber : index,
    seriesNumber: seriesNumber !== undefined && Number.isFinite(seriesNumber) ? seriesNumber : Infinity,
    ...(fb ? { fallbackSpacing: fb } : {}),
  };
}

interface Slice {
  readonly file: ImageFile;
  readonly frame: number;
  readonly geom: FrameGeometry;
}

interface StackGeometry {
  readonly order: readonly Slice[];
  readonly origin: Vec3;
  readonly direction: Mat3;
  readonly spacing: Vec3;
  readonly spacingKnown: boolean;
  readonly notes: readonly string[];
}

function seriesError(label: string, msg: string): AppError {
  return new AppError('corrupt-file', `Series ${label}: ${msg}`, { subject: label });
}

function stackGeometry(slices: readonly Slice[], label: string): StackGeometry {
  const notes: string[] = [];
  const first = slices[0];
  if (!first) throw seriesError(label, 'no images.');
  const spacings = slices.map((s) => s.geom.pixelSpacing);
  const sp0 = spacings[0];
  if (sp0) {
    for (const sp of spacings) {
      if (!sp || Math.abs(sp[0] - sp0[0]) > 1e-3 * sp0[0] || Math.abs(sp[1] - sp0[1]) > 1e-3 * sp0[1]) {
        throw seriesError(
          label,
          `its images have different pixel sizes (${sp0.join('×')} mm and ${sp?.join('×') ?? 'none'}). Load one series at a time, or split it with a DICOM tool.`,
        );
      }
    }
  }
  const fb = first.file.fallbackSpacing;
  const pixel = sp0 ?? fb?.spacing;
  if (!sp0 && fb) notes.push(fb.note);
  const withPos = slices.filter((s) => s.geom.ipp && s.geom.iop).length;
  if (withPos > 0 && withPos < slices.length) {
    throw seriesError(
      label,
      `${slices.length - withPos} of its ${slices.length} images have no position or orientation, so they cannot be stacked. Load the images that belong together.`,
    );
  }
  if (withPos === 0) {
    const order = [...slices].sort(
      (a, b) =>
        a.file.instanceNumber - b.file.instanceNumber || a.file.index - b.file.index || a.frame - b.frame,
    );
    if (order.length > 1)
      notes.push('The images carry no positions: stacked 1 apart in instance-number order.');
    return {
      order,
      origin: [0, 0, 0],
      direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
      spacing: [pixel?.[1] ?? 1, pixel?.[0] ?? 1, 1],
      spacingKnown: pixel !== undefined,
      notes,
    };
  }
  const [row, col] = first.geom.iop ?? [
    [1, 0, 0],
    [0, 1, 0],
  ];
  for (const s of slices) {
    const [r, c] = s.geom.iop ?? [row, col];
    if (
      [0, 1, 2].some(
        (i) => Math.abs((r[i] ?? 0) - (row[i] ?? 0)) > 1e-3 || Math.abs((c[i] ?? 0) - (col[i] ?? 0)) > 1e-3,
      )
    ) {
      throw seriesError(
        label,
        `its images have different orientations (ImageOrientationPatient). Load one stack at a time, or split the series with a DICOM tool.`,
      );
    }
  }
  const normal = unit(cross(row, col));
  const proj = (s: Slice) => dot(s.geom.ipp ?? [0, 0, 0], normal);
  const order = [...slices].sort((a, b) => proj(a) - proj(b));
  const o = order[0];
  const ipp0 = o?.geom.ipp ?? [0, 0, 0];
  const n = order.length;
  let kSpacing =
    first.geom.sliceThickness !== undefined && first.geom.sliceThickness > 0 ? first.geom.sliceThickness : 1;
  if (n > 1) {
    const positions = order.map(proj);
    const p0 = positions[0] ?? 0;
    const span = (positions[n - 1] ?? 0) - p0;
    kSpacing = span / (n - 1);
    const gaps = positions.slice(1).map((x, i) => x - (positions[i] ?? 0));
    const minGap = Math.min(...gaps);
    const maxGap = Math.max(...gaps);
    if (!(kSpacing > 1e-6) || minGap < 1e-3 * Math.max(kSpacing, 1e-3)) {
      throw seriesError(
        label,
        `several images lie at the same position (a series with several phases, echoes or acquisitions). Load one acquisition at a time.`,
      );
    }
    if (gaps.some((g) => Math.abs(g - kSpacing) > 0.01 * kSpacing)) {
      throw seriesError(
        label,
        `its slices are not evenly spaced (gaps from ${minGap.toFixed(3)} to ${maxGap.toFixed(3)} mm); a slice may be missing. Load the complete series.`,
      );
    }
    const tol = 0.1 * Math.min(pixel?.[0] ?? 1, pixel?.[1] ?? 1);
    for (const s of order) {
      const q = s.geom.ipp ?? ipp0;
      const along = proj(s) - p0;
      const off = [0, 1, 2].map((i) => (q[i] ?? 0) - (ipp0[i] ?? 0) - along * (normal[i] ?? 0));
      if (Math.hypot(...off) > tol) {
        throw new AppError(
          'unsupported-format',
          `Series ${label}: its slices are sheared (gantry tilt or a non-perpendicular stack), which this app does not resample. Reconstruct the series without tilt, or convert it with a tool that resamples.`,
          { subject: label },
        );
      }
    }
  }
  return {
    order,
    origin: ipp0,
    direction: [row[0], row[1], row[2], col[0], col[1], col[2], normal[0], normal[1], normal[2]],
    spacing: [pixel?.[1] ?? 1, pixel?.[0] ?? 1, kSpacing],
    spacingKnown: pixel !== undefined,
    notes,
  };
}

function modalityOf(m: string, opts: ReadOptions): Modality {
  if (m === 'CT' || m === 'MR' || m === 'US') return m;
  return opts.modality ?? 'OT';
}

async function buildSeries(
  group: readonly ImageFile[],
  label: string,
  opts: DicomReadOptions,
): Promise<DicomSeries> {
  const first = group[0];
  if (!first) throw seriesError(label, 'no images.');
  const info0 = first.info;
  for (const f of group) {
    if (
      f.info.rows !== info0.rows ||
      f.info.columns !== info0.columns ||
      f.info.samplesPerPixel !== info0.samplesPerPixel
    ) {
      throw seriesError(
        label,
        `its images have different sizes (${info0.columns}×${info0.rows} and ${f.info.columns}×${f.info.rows}, ${f.parsed.name}). Load one image size at a time.`,
      );
    }
  }
  const slices: Slice[] = group.flatMap((file) => file.geoms.map((geom, frame) => ({ file, frame, geom })));
  const geo = stackGeometry(slices, label);
  const notes: string[] = [...new Set(group.flatMap((f) => f.notes)), ...geo.notes];
  const colour = info0.samplesPerPixel === 3;
  let order = geo.order;
  if (colour && order.length > 1) {
    notes.push(`Colour ${order.length}-frame image: only the first frame is shown.`);
    order = order.slice(0, 1);
  }
  const perSlice = info0.rows * info0.columns;
  const n = perSlice * order.length;
  const allU8 = order.every(
    (s) =>
      s.file.info.bitsAllocated === 8 &&
      s.file.info.pixelRepresentation === 0 &&
      s.geom.slope === 1 &&
      s.geom.intercept === 0,
  );
  const integral = order.every((s) => Number.isInteger(s.geom.slope) && Number.isInteger(s.geom.intercept));
  const kind = colour || allU8 ? 'u8' : integral ? 'i16' : 'f32';
  checkBudget(n * (kind === 'u8' ? 1 : kind === 'i16' ? 2 : 4), `Series ${label}`, opts);
  const out = new Assembler(n, kind, label);
  let rgb: Uint8Array | undefined;
  for (let k = 0; k < order.length; k++) {
    const s = order[k];
    if (!s) continue;
    const samples = await frameSamples(s.file.parsed, s.file.info, s.frame, opts.decoder);
    if (colour) {
      rgb = toRgb(samples, s.file.info, NATIVE_TS.has(s.file.parsed.transferSyntax));
      const luma = new Uint8Array(perSlice);
      for (let i = 0; i < perSlice; i++)
        luma[i] = Math.round(
          0.299 * (rgb[3 * i] ?? 0) + 0.587 * (rgb[3 * i + 1] ?? 0) + 0.114 * (rgb[3 * i + 2] ?? 0),
        );
      out.put(0, luma, 1, 0);
    } else {
      out.put(k * perSlice, samples, s.geom.slope, s.geom.intercept);
    }
  }
  const rescaled = order.some((s) => s.geom.slope !== 1 || s.geom.intercept !== 0);
  if (rescaled) {
    const s0 = order[0]?.geom;
    const same = order.every((s) => s.geom.slope === s0?.slope && s.geom.intercept === s0.intercept);
    notes.push(
      same && s0
        ? `Values rescaled by slope ${s0.slope} and intercept ${s0.intercept}.`
        : 'Values rescaled by each slice’s own slope and intercept.',
    );
  }
  if (info0.photometric === 'MONOCHROME1')
    notes.push('MONOCHROME1: low values are meant to display bright; values are kept as stored.');
  const modality = modalityOf(first.modality, opts);
  const frameOfReference = first.frameOfReference;
  const volume: Volume = {
    dims: [info0.columns, info0.rows, order.length],
    spacing: geo.spacing,
    spacingKnown: geo.spacingKnown,
    origin: geo.origin,
    direction: geo.direction,
    data: out.data,
    modality,
    ...(frameOfReference ? { frameOfReference } : {}),
  };
  const result: ReadResult = {
    volume,
    format: 'dicom',
    notes,
    is8bit: out.data instanceof Uint8Array,
    ...(rgb ? { rgb } : {}),
    ...(frameOfReference ? { frameOfReference } : {}),
    modality,
  };
  const files = [...new Set(order.map((s) => s.file))];
  return {
    result,
    seriesUid: first.seriesUid,
    studyUid: first.studyUid,
    description: first.description,
    sopInstanceUids: files.map((f) => f.parsed.sopInstanceUid),
    sopClassUid: first.parsed.sopClassUid,
    files: files.map((f) => f.parsed.name),
  };
}

/**
 * Reads every DICOM image among `files`, one volume per series. Files that are not DICOM images, and
 * series that cannot form a correct volume, end up in `errors` with the reason; the rest still load.
 */
export async function readDicomSeries(
  files: readonly InputFile[],
  opts: DicomReadOptions = {},
): Promise<{ series: DicomSeries[]; errors: DicomReadError[] }> {
  const errors: DicomReadError[] = [];
  const images: ImageFile[] = [];
  files.forEach((f, index) => {
    try {
      const p = parseDicomFile(f, opts);
      const skip = nonImageReason(p);
      if (skip) {
        errors.push({
          name: f.name,
          message: skip.reason,
          code: skip.truncated ? 'truncated-file' : 'unsupported-format',
        });
        return;
      }
      const img = describeImage(p, index, opts);
      images.push(img);
    } catch (e) {
      const err = toAppError(e, 'corrupt-file', f.name);
      errors.push({ name: f.name, message: err.message, code: err.code });
    }
  });
  const groups = new Map<string, ImageFile[]>();
  for (const img of images) {
    const key = img.seriesUid || `no-uid|${img.frameOfReference}|${img.seriesNumber}|${img.description}`;
    const g = groups.get(key);
    if (g) g.push(img);
    else groups.set(key, [img]);
  }
  const ordered = [...groups.values()].sort(
    (a, b) =>
      (a[0]?.seriesNumber ?? 0) - (b[0]?.seriesNumber ?? 0) || (a[0]?.index ?? 0) - (b[0]?.index ?? 0),
  );
  const series: DicomSeries[] = [];
  for (const group of ordered) {
    const first = group[0];
    if (!first) continue;
    const label = `"${first.description || first.seriesUid || first.parsed.name}" (${group.length} file${group.length === 1 ? '' : 's'})`;
    try {
      series.push(await buildSeries(group, label, opts));
    } catch (e) {
      const err = toAppError(e, 'corrupt-file', `Series ${label}`);
      errors.push({ name: `Series ${label}`, message: err.message, code: err.code });
    }
  }
  return { series, errors };
}
