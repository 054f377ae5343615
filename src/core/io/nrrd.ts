/**
 * NRRD reader: attached (.nrrd) or detached (.nhdr plus the data file named in its header, found among the
 * files given). Encodings raw, gzip and ascii; (u)int8/16/32, float and double samples in either byte
 * order. Geometry from `space directions` and `space origin` in the header's `space`, converted to the
 * app's LPS (RAS and LAS are flipped the way nifti.ts flips RAS); `spacings` when there are no directions.
 * A 2-D image becomes dims [w, h, 1]; a leading non-spatial axis of size 1 is dropped; trailing non-spatial
 * axes (time, lists) keep their first volume. Sizes are checked against the budget and the file before
 * anything is allocated.
 */
import { AppError } from '../errors';
import type { Mat3, ScalarArray, Vec3, Volume } from '../image/types';
import { checkBudget, guardAlloc } from './budget';
import { SAMPLE_BYTES, samplesFromBytes, type SampleType } from './bytes';
import { findCompanion } from './companion';
import { gunzipChecked } from './compression';
import type { InputFile, ReadOptions, ReadResult } from './types';

const NRRD_TYPES: Readonly<Record<string, SampleType>> = {
  'signed char': 'int8',
  int8: 'int8',
  int8_t: 'int8',
  uchar: 'uint8',
  'unsigned char': 'uint8',
  uint8: 'uint8',
  uint8_t: 'uint8',
  short: 'int16',
  'short int': 'int16',
  'signed short': 'int16',
  'signed short int': 'int16',
  int16: 'int16',
  int16_t: 'int16',
  ushort: 'uint16',
  'unsigned short': 'uint16',
  'unsigned short int': 'uint16',
  uint16: 'uint16',
  uint16_t: 'uint16',
  int: 'int32',
  'signed int': 'int32',
  int32: 'int32',
  int32_t: 'int32',
  uint: 'uint32',
  'unsigned int': 'uint32',
  uint32: 'uint32',
  uint32_t: 'uint32',
  float: 'float32',
  double: 'float64',
};

/** Kinds that are not positions in space. */
const NON_SPATIAL_KINDS =
  /^(list|point|vector|covariant-vector|normal|stub|scalar|complex|2-vector|3-color|rgb-color|hsv-color|xyz-color|4-color|rgba-color|3-vector|3-gradient|3-normal|4-vector|quaternion|2d-.*|3d-.*)$/i;

/** LPS sign flips per world axis for the named spaces; undefined for spaces without anatomy. */
const SPACE_FLIPS: Readonly<Record<string, Vec3>> = {
  'right-anterior-superior': [-1, -1, 1],
  ras: [-1, -1, 1],
  'left-anterior-superior': [1, -1, 1],
  las: [1, -1, 1],
  'left-posterior-superior': [1, 1, 1],
  lps: [1, 1, 1],
};

export function isNrrd(b: Uint8Array): boolean {
  return b.length >= 8 && String.fromCharCode(...b.subarray(0, 7)) === 'NRRD000' && (b[7] ?? 0) >= 0x31;
}

interface NrrdHeader {
  readonly fields: ReadonlyMap<string, string>;
  /** Byte offset just after the blank line that ends the header (the file length when there is none). */
  readonly dataStart: number;
  readonly endedByBlankLine: boolean;
  /** `key:=value` pairs (Slicer keeps segment names there). */
  readonly keyValues: ReadonlyMap<string, string>;
}

function fail(name: string, msg: string): AppError {
  return new AppError('corrupt-file', `${name}: ${msg}`, { subject: name });
}

function parseHeader(b: Uint8Array, name: string): NrrdHeader {
  const fields = new Map<string, string>();
  const keyValues = new Map<string, string>();
  const limit = Math.min(b.length, 1 << 20);
  let pos = 0;
  let lineNo = 0;
  while (pos < limit) {
    let end = b.indexOf(0x0a, pos);
    if (end < 0 || end > limit) end = b.length <= limit ? b.length : -1;
    if (end < 0) throw fail(name, 'the NRRD header does not end within the first MiB. Is this an NRRD file?');
    let line = new TextDecoder('latin1').decode(b.subarray(pos, end));
    if (line.endsWith('\r')) line = line.slice(0, -1);
    pos = end + 1;
    lineNo++;
    if (lineNo === 1) continue; // the magic line
    if (line === '') return { fields, keyValues, dataStart: pos, endedByBlankLine: true };
    if (line.startsWith('#')) continue;
    const kv = line.indexOf(':=');
    if (kv >= 0) {
      // key/value pairs carry no geometry; kept for the segment names of Slicer's .seg.nrrd
      keyValues.set(line.slice(0, kv), line.slice(kv + 2));
      continue;
    }
    const at = line.indexOf(': ');
    if (at < 0)
      throw fail(name, `NRRD header line ${lineNo} ('${line.slice(0, 60)}') is not 'field: value'.`);
    fields.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 2).trim());
  }
  return { fields, keyValues, dataStart: b.length, endedByBlankLine: false };
}

/**
 * Segment names of a 3D Slicer segmentation (.seg.nrrd, slicer.readthedocs.io "Segmentation labelmap file
 * format"): `SegmentN_Name` and `SegmentN_LabelValue` per segment, all in layer 0 of a 3D file (overlapping
 * segments need a list dimension, which this reader refuses).
 */
function slicerSegmentNames(kv: ReadonlyMap<string, string>): Map<number, string> {
  const out = new Map<number, string>();
  for (const [k, name] of kv) {
    const m = /^Segment(\d+)_Name$/.exec(k);
    if (!m || name.trim() === '') continue;
    const value = Number(kv.get(`Segment${m[1] ?? ''}_LabelValue`));
    const layer = Number(kv.get(`Segment${m[1] ?? ''}_Layer`) ?? 0);
    if (Number.isInteger(value) && value > 0 && layer === 0 && !out.has(value)) out.set(value, name.trim());
  }
  return out;
}

function numbersOf(s: string | undefined): number[] {
  if (!s) return [];
  return s
    .trim()
    .split(/\s+/)
    .map((x) => (/^nan$/i.test(x) ? NaN : Number(x)));
}

/** '(1,0,0) none (0,1,0)' → [[1,0,0], null, [0,1,0]] */
function vectorsOf(s: string, name: string, what: string): (number[] | null)[] {
  const out: (number[] | null)[] = [];
  const re = /\(([^)]*)\)|none/gi;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    if (m[1] === undefined) {
      out.push(null);
      continue;
    }
    const v = m[1].split(',').map((x) => Number(x.trim()));
    if (v.some((x) => !Number.isFinite(x))) throw fail(name, `${what} '${m[0]}' is not a vector of numbers.`);
    out.push(v);
  }
  return out;
}

function skipLines(b: Uint8Array, lines: number): number {
  let pos = 0;
  for (let i = 0; i < lines; i++) {
    const nl = b.indexOf(0x0a, pos);
    if (nl < 0) return b.length;
    pos = nl + 1;
  }
  return pos;
}

function truncated(name: string, need: number, have: number): AppError {
  return new AppError(
    'truncated-file',
    `${name} is truncated: the header declares ${need} bytes of image data, the file holds ${Math.max(0, have)}. Copy the file again from its source.`,
    { subject: name, detail: `need ${need}, have ${have}` },
  );
}

/** Inflates gzip data, reporting a stream cut short as a truncated file. */
export function gunzipOrTruncated(
  b: Uint8Array,
  name: string,
  opts: ReadOptions,
  declared: number,
): Uint8Array {
  try {
    return gunzipChecked(b, name, opts, 1, () => declared);
  } catch (e) {
    if (e instanceof AppError && e.code === 'corrupt-file' && /unexpected EOF/i.test(e.message)) {
      throw new AppError(
        'truncated-file',
        `${name}: the compressed image data is cut short (truncated). Copy the file again from its source.`,
        { subject: name, detail: e.message, cause: e },
      );
    }
    throw e;
  }
}

export function readNrrd(files: readonly InputFile[], opts: ReadOptions = {}): ReadResult {
  const headers = files.filter((f) => isNrrd(f.bytes));
  const file = headers[0];
  if (!file) {
    const n = files.map((f) => f.name).join(', ');
    throw new AppError(
      'corrupt-file',
      `${n || 'No file'}: not an NRRD file (it must start with 'NRRD000x'). Select the .nrrd or .nhdr file.`,
      { subject: n },
    );
  }
  if (headers.length > 1) {
    throw new AppError(
      'invalid-argument',
      `Several NRRD headers were given (${headers.map((f) => f.name).join(', ')}). Load one image at a time.`,
      { subject: file.name },
    );
  }
  const { name } = file;
  const notes: string[] = [];
  const h = parseHeader(file.bytes, name);
  const F = h.fields;
  const dimension = Number(F.get('dimension'));
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16)
    throw fail(name, `'dimension: ${F.get('dimension') ?? ''}' is missing or invalid. Re-save the file.`);
  const sizes = numbersOf(F.get('sizes'));
  if (sizes.length !== dimension || sizes.some((x) => !Number.isInteger(x) || x < 1))
    throw fail(
      name,
      `'sizes: ${F.get('sizes') ?? ''}' does not give ${dimension} positive integers. Re-save the file.`,
    );
  const typeName = (F.get('type') ?? '').toLowerCase().replace(/\s+/g, ' ');
  const type = NRRD_TYPES[typeName];
  if (!type) {
    throw new AppError(
      'unsupported-format',
      `${name}: NRRD type '${F.get('type') ?? '(none)'}' is not supported (use (u)int8/16/32, float or double).`,
      { subject: name },
    );
  }
  const encoding = (F.get('encoding') ?? '').toLowerCase();
  const enc =
    encoding === 'raw'
      ? 'raw'
      : encoding === 'gzip' || encoding === 'gz'
        ? 'gzip'
        : ['ascii', 'text', 'txt'].includes(encoding)
          ? 'ascii'
          : null;
  if (!enc) {
    throw new AppError(
      'unsupported-format',
      `${name}: NRRD encoding '${F.get('encoding') ?? '(none)'}' is not supported (raw, gzip or ascii). Re-save it with gzip encoding.`,
      { subject: name },
    );
  }
  const size = SAMPLE_BYTES[type];
  const endian = (F.get('endian') ?? '').toLowerCase();
  if (size > 1 && enc !== 'ascii' && endian !== 'little' && endian !== 'big') {
    if (!opts.lenient)
      throw fail(name, `the header has no valid 'endian:' field for ${size}-byte samples. Re-save the file.`);
    notes.push(`${name} was read leniently: no 'endian' field, little endian assumed.`);
  }
  const littleEndian = endian !== 'big';

  // Axes: which are spatial, which are dropped.
  const dirField = F.get('space directions');
  const directions = dirField !== undefined ? vectorsOf(dirField, name, 'space directions') : undefined;
  if (directions && directions.length !== dimension)
    throw fail(name, `'space directions' lists ${directions.length} entries for ${dimension} axes.`);
  const kinds = (F.get('kinds') ?? '').split(/\s+/).filter((x) => x !== '');
  const spatial = sizes.map((_, a) =>
    directions ? directions[a] !== null : !NON_SPATIAL_KINDS.test(kinds[a] ?? 'domain'),
  );
  let axes = sizes.map((_, a) => a);
  if (axes.length > 1 && !spatial[0]) {
    if (sizes[0] !== 1) {
      throw new AppError(
        'unsupported-format',
        `${name}: pixels with ${sizes[0]} components (kind '${kinds[0] ?? 'vector'}') are not supported; save one scalar image per file.`,
        { subject: name },
      );
    }
    axes = axes.slice(1);
  }
  const nSpatial = axes.findIndex((a) => !spatial[a]);
  const spatialAxes = nSpatial < 0 ? axes : axes.slice(0, nSpatial);
  const trailing = nSpatial < 0 ? [] : axes.slice(nSpatial);
  if (trailing.some((a) => spatial[a]))
    throw new AppError(
      'unsupported-format',
      `${name}: a non-spatial axis between spatial axes is not supported.`,
      {
        subject: name,
      },
    );
  if (spatialAxes.length < 2 || spatialAxes.length > 3) {
    throw new AppError(
      'unsupported-format',
      `${name}: ${spatialAxes.length} spatial axes; only 2-D and 3-D images are supported.`,
      { subject: name },
    );
  }
  const extra = trailing.reduce((p, a) => p * (sizes[a] ?? 1), 1);
  if (extra > 1) notes.push(`${dimension}-D file: only the first of ${extra} volumes is shown.`);
  const dims = [0, 1, 2].map((i) => {
    const a = spatialAxes[i];
    return a === undefined ? 1 : (sizes[a] ?? 1);
  }) as unknown as Vec3;
  const total = sizes.reduce((p, x) => p * x, 1);
  const n = dims[0] * dims[1] * dims[2];
  const need = total * size;
  checkBudget(need + n * (type === 'float64' ? 4 : 0), name, opts);

  // Geometry.
  const spaceName = (F.get('space') ?? '').toLowerCase().replace(/-time$/, '');
  let flips: Vec3 = [1, 1, 1];
  if (F.has('space')) {
    const f = SPACE_FLIPS[spaceName];
    if (f) flips = f;
    else
      notes.push(
        `NRRD space '${F.get('space') ?? ''}' has no anatomical axes; its coordinates are used as LPS.`,
      );
  }
  const cols: Vec3[] = [];
  const spacing: number[] = [];
  let spacingKnown = true;
  let origin: Vec3 = [0, 0, 0];
  if (directions) {
    for (const a of spatialAxes) {
      const v = directions[a] ?? [];
      const w: Vec3 = [v[0] ?? 0, v[1] ?? 0, v[2] ?? 0];
      const len = Math.hypot(...w);
      if (!(len > 0)) throw fail(name, `axis ${a} has an empty space direction. Re-save the file.`);
      spacing.push(len);
      cols.push([(flips[0] * w[0]) / len, (flips[1] * w[1]) / len, (flips[2] * w[2]) / len]);
    }
    const o = vectorsOf(F.get('space origin') ?? '', name, 'space origin')[0];
    if (o) origin = [flips[0] * (o[0] ?? 0), flips[1] * (o[1] ?? 0), flips[2] * (o[2] ?? 0)];
  } else {
    const sp = numbersOf(F.get('spacings'));
    spatialAxes.forEach((a, i) => {
      const s = Math.abs(sp[a] ?? NaN);
      if (!(s > 0 && Number.isFinite(s))) spacingKnown = false;
      spacing.push(s > 0 && Number.isFinite(s) ? s : 1);
      const e: Vec3 = [i === 0 ? 1 : 0, i === 1 ? 1 : 0, i === 2 ? 1 : 0];
      cols.push(e);
    });
    notes.push('NRRD without space directions: axes assumed aligned with LPS, origin at 0.');
  }
  if (cols.length === 2) {
    const [i, j] = cols as [Vec3, Vec3];
    const k: Vec3 = [i[1] * j[2] - i[2] * j[1], i[2] * j[0] - i[0] * j[2], i[0] * j[1] - i[1] * j[0]];
    const kl = Math.hypot(...k);
    if (!(kl > 0)) throw fail(name, 'its two axes are parallel. Re-save the file.');
    cols.push([k[0] / kl, k[1] / kl, k[2] / kl]);
    spacing.push(1);
  }
  const direction = cols.flatMap((c) => [...c]) as unknown as Mat3;

  // Data.
  let raw: Uint8Array;
  let dataName = name;
  const dataFile = F.get('data file') ?? F.get('datafile');
  if (dataFile !== undefined) {
    if (/^list\b/i.test(dataFile) || /\s/.test(dataFile.trim()) || dataFile.includes('%')) {
      throw new AppError(
        'unsupported-format',
        `${name}: image data split over several files ('data file: ${dataFile}') is not supported. Save it as one .nrrd file.`,
        { subject: name },
      );
    }
    const df = findCompanion(files, dataFile);
    if (!df) {
      throw new AppError(
        'invalid-argument',
        `${name} keeps its image data in '${dataFile}', which was not among the selected files. Select both files together.`,
        { subject: name },
      );
    }
    raw = df.bytes;
    dataName = df.name;
  } else {
    if (!h.endedByBlankLine) throw truncated(name, need, 0);
    raw = file.bytes.subarray(h.dataStart);
  }
  const lineSkip = Number(F.get('line skip') ?? F.get('lineskip') ?? 0);
  const byteSkip = Number(F.get('byte skip') ?? F.get('byteskip') ?? 0);
  if (!Number.isInteger(lineSkip) || lineSkip < 0 || !Number.isInteger(byteSkip) || byteSkip < -1)
    throw fail(name, `'line skip' / 'byte skip' must be whole numbers. Re-save the file.`);
  raw = raw.subarray(skipLines(raw, lineSkip));
  let data: ScalarArray;
  if (enc === 'ascii') {
    const values = new TextDecoder('latin1')
      .decode(raw)
      .trim()
      .split(/[\s,]+/);
    if (values.length < total || values[0] === '')
      throw truncated(dataName, total, values[0] === '' ? 0 : values.length);
    const f64 = guardAlloc(name, () => new Float64Array(n));
    for (let i = 0; i < n; i++) f64[i] = Number(values[i]);
    if (f64.some((x) => !Number.isFinite(x)))
      throw fail(dataName, 'its ascii data holds a value that is not a number.');
    data = narrow(f64, type);
  } else {
    if (enc === 'gzip') {
      if (byteSkip < 0) throw fail(name, `'byte skip: -1' is only allowed with raw encoding.`);
      raw = gunzipOrTruncated(raw, dataName, opts, need + byteSkip);
    }
    const start = byteSkip === -1 ? raw.length - need : byteSkip;
    if (start < 0 || start + need > raw.length)
      throw truncated(dataName, need, raw.length - Math.max(0, start));
    data = samplesFromBytes(raw.subarray(start, start + n * size), type, littleEndian);
  }
  if (!littleEndian && size > 1 && enc !== 'ascii')
    notes.push('Big-endian NRRD: bytes were swapped on read.');
  if (type === 'float64') notes.push('Double-precision samples were stored as float32.');
  const volume: Volume = {
    dims,
    spacing: spacing as unknown as Vec3,
    spacingKnown,
    origin,
    direction,
    data,
    modality: opts.modality ?? 'OT',
  };
  const segmentNames = slicerSegmentNames(h.keyValues);
  return {
    volume,
    format: 'nrrd',
    notes,
    is8bit: data instanceof Uint8Array,
    ...(segmentNames.size ? { labelNames: segmentNames } : {}),
  };
}

function narrow(v: Float64Array, type: SampleType): ScalarArray {
  switch (type) {
    case 'int8':
      return Int8Array.from(v);
    case 'uint8':
      return Uint8Array.from(v);
    case 'int16':
      return Int16Array.from(v);
    case 'uint16':
      return Uint16Array.from(v);
    case 'int32':
      return Int32Array.from(v);
    case 'uint32':
      return Uint32Array.from(v);
    default:
      return Float32Array.from(v);
  }
}
