/**
 * MetaImage reader (ITK's .mha with inline data, .mhd with a .raw/.zraw data file among the files given).
 * MetaImage coordinates are ITK's LPS, so nothing is flipped. TransformMatrix lists the direction of each
 * index axis in turn (ITK reads row ii as the direction of axis ii), which is exactly the column-major
 * layout of Volume.direction. Compressed data is zlib; every declared size is checked against the budget
 * and the data before anything is allocated.
 */
import { AppError } from '../errors';
import type { Mat3, Vec3, Volume } from '../image/types';
import { checkBudget } from './budget';
import { SAMPLE_BYTES, samplesFromBytes, type SampleType } from './bytes';
import { findCompanion } from './companion';
import { inflateChecked } from './compression';
import type { InputFile, ReadOptions, ReadResult } from './types';

const MET_TYPES: Readonly<Record<string, SampleType>> = {
  MET_UCHAR: 'uint8',
  MET_CHAR: 'int8',
  MET_SHORT: 'int16',
  MET_USHORT: 'uint16',
  MET_INT: 'int32',
  MET_UINT: 'uint32',
  MET_FLOAT: 'float32',
  MET_DOUBLE: 'float64',
};

const HEADER_KEYS =
  /^\s*(ObjectType|ObjectSubType|NDims|Comment|TransformType|DimSize|ElementSpacing|ElementSize|ElementType|HeaderSize|BinaryData|BinaryDataByteOrderMSB|ElementByteOrderMSB|CompressedData|Offset|Origin|Position|TransformMatrix|Rotation|Orientation|CenterOfRotation|AnatomicalOrientation|ElementNumberOfChannels|Modality|Name|ID)\s*=/;

export function isMetaImage(b: Uint8Array): boolean {
  const head = new TextDecoder('latin1').decode(b.subarray(0, 256));
  return HEADER_KEYS.test(head);
}

interface MetaHeader {
  readonly fields: ReadonlyMap<string, string>;
  readonly dataStart: number;
}

function fail(name: string, msg: string): AppError {
  return new AppError('corrupt-file', `${name}: ${msg}`, { subject: name });
}

function parseHeader(b: Uint8Array, name: string): MetaHeader {
  const limit = Math.min(b.length, 1 << 20);
  const fields = new Map<string, string>();
  let pos = 0;
  while (pos < limit) {
    let end = b.indexOf(0x0a, pos);
    if (end < 0) end = b.length;
    let line = new TextDecoder('latin1').decode(b.subarray(pos, end));
    if (line.endsWith('\r')) line = line.slice(0, -1);
    pos = end + 1;
    if (line.trim() === '') continue;
    const m = /^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m?.[1]) throw fail(name, `MetaImage header line '${line.slice(0, 60)}' is not 'Key = Value'.`);
    const key = m[1].toLowerCase();
    fields.set(key, m[2] ?? '');
    if (key === 'elementdatafile') return { fields, dataStart: Math.min(pos, b.length) };
  }
  throw fail(
    name,
    'the MetaImage header has no ElementDataFile line (it must end the header). Re-save the file.',
  );
}

function numbers(s: string | undefined): number[] {
  if (s === undefined || s.trim() === '') return [];
  return s.trim().split(/\s+/).map(Number);
}

function isTrue(s: string | undefined): boolean {
  return s !== undefined && /^(true|1|yes)$/i.test(s.trim());
}

function truncated(name: string, need: number, have: number): AppError {
  return new AppError(
    'truncated-file',
    `${name} is truncated: the header declares ${need} bytes of image data, the file holds ${Math.max(0, have)}. Copy the file again from its source.`,
    { subject: name, detail: `need ${need}, have ${have}` },
  );
}

export function readMetaImage(files: readonly InputFile[], opts: ReadOptions = {}): ReadResult {
  const headers = files.filter((f) => isMetaImage(f.bytes));
  const file = headers[0];
  if (!file) {
    const n = files.map((f) => f.name).join(', ');
    throw new AppError(
      'corrupt-file',
      `${n || 'No file'}: not a MetaImage file (no 'Key = Value' header). Select the .mha or .mhd file.`,
      { subject: n },
    );
  }
  if (headers.length > 1) {
    throw new AppError(
      'invalid-argument',
      `Several MetaImage headers were given (${headers.map((f) => f.name).join(', ')}). Load one image at a time.`,
      { subject: file.name },
    );
  }
  const { name } = file;
  const notes: string[] = [];
  const { fields: F, dataStart } = parseHeader(file.bytes, name);
  const objectType = F.get('objecttype');
  if (objectType !== undefined && objectType.toLowerCase() !== 'image')
    throw new AppError(
      'unsupported-format',
      `${name}: MetaImage object type '${objectType}' is not an image.`,
      {
        subject: name,
      },
    );
  const nd = Number(F.get('ndims'));
  if (!Number.isInteger(nd) || nd < 1 || nd > 8)
    throw fail(name, `NDims '${F.get('ndims') ?? ''}' is missing or invalid. Re-save the file.`);
  if (nd < 2)
    throw new AppError(
      'unsupported-format',
      `${name}: a ${nd}-D MetaImage is not an image; only 2-D and 3-D.`,
      {
        subject: name,
      },
    );
  const dimSize = numbers(F.get('dimsize'));
  if (dimSize.length !== nd || dimSize.some((x) => !Number.isInteger(x) || x < 1))
    throw fail(
      name,
      `DimSize '${F.get('dimsize') ?? ''}' does not give ${nd} positive integers. Re-save the file.`,
    );
  const typeName = (F.get('elementtype') ?? '').toUpperCase();
  const type = MET_TYPES[typeName];
  if (!type) {
    throw new AppError(
      'unsupported-format',
      `${name}: ElementType '${F.get('elementtype') ?? '(none)'}' is not supported (MET_UCHAR, MET_CHAR, MET_SHORT, MET_USHORT, MET_INT, MET_UINT, MET_FLOAT, MET_DOUBLE).`,
      { subject: name },
    );
  }
  const channels = Number(F.get('elementnumberofchannels') ?? 1);
  if (channels !== 1) {
    throw new AppError(
      'unsupported-format',
      `${name}: ${channels} channels per pixel are not supported; save one scalar image per file.`,
      { subject: name },
    );
  }
  if (F.has('binarydata') && !isTrue(F.get('binarydata'))) {
    throw new AppError(
      'unsupported-format',
      `${name}: ASCII MetaImage data is not supported; save it as binary.`,
      {
        subject: name,
      },
    );
  }
  const size = SAMPLE_BYTES[type];
  const littleEndian = !(isTrue(F.get('binarydatabyteordermsb')) || isTrue(F.get('elementbyteordermsb')));
  const dims = [dimSize[0] ?? 1, dimSize[1] ?? 1, nd >= 3 ? (dimSize[2] ?? 1) : 1] as unknown as Vec3;
  const extra = dimSize.slice(3).reduce((p, x) => p * x, 1);
  if (extra > 1) notes.push(`${nd}-D file: only the first of ${extra} volumes is shown.`);
  const total = dimSize.reduce((p, x) => p * x, 1);
  const n = dims[0] * dims[1] * dims[2];
  const need = total * size;
  checkBudget(need + (type === 'float64' ? n * 4 : 0), name, opts);

  // Geometry (LPS already).
  const sp = numbers(F.get('elementspacing') ?? F.get('elementsize'));
  let spacingKnown = sp.length >= Math.min(nd, 3);
  const spacing = [0, 1, 2].map((i) => {
    if (i >= nd) return 1;
    const s = Math.abs(sp[i] ?? NaN);
    if (!(s > 0 && Number.isFinite(s))) {
      spacingKnown = false;
      return 1;
    }
    return s;
  }) as unknown as Vec3;
  const off = numbers(F.get('offset') ?? F.get('origin') ?? F.get('position'));
  const origin = [0, 1, 2].map((i) => (i < nd ? (off[i] ?? 0) : 0)) as unknown as Vec3;
  if (origin.some((x) => !Number.isFinite(x))) throw fail(name, `Offset '${off.join(' ')}' is not numeric.`);
  const tm = numbers(F.get('transformmatrix') ?? F.get('rotation') ?? F.get('orientation'));
  const cols: Vec3[] = [];
  for (let a = 0; a < 3; a++) {
    if (a >= nd) {
      cols.push([0, 0, 1]);
      continue;
    }
    const row =
      tm.length === nd * nd ? tm.slice(a * nd, a * nd + nd) : [0, 1, 2].map((j) => (j === a ? 1 : 0));
    const v: Vec3 = [row[0] ?? 0, row[1] ?? 0, nd >= 3 ? (row[2] ?? 0) : 0];
    const len = Math.hypot(...v);
    if (!(len > 0) || !Number.isFinite(len))
      throw fail(name, `TransformMatrix has an empty direction for axis ${a}.`);
    cols.push([v[0] / len, v[1] / len, v[2] / len]);
  }
  if (tm.length > 0 && tm.length !== nd * nd)
    throw fail(name, `TransformMatrix needs ${nd * nd} numbers, it has ${tm.length}.`);
  if (nd === 2) {
    const [i, j] = cols as [Vec3, Vec3, Vec3];
    const k: Vec3 = [i[1] * j[2] - i[2] * j[1], i[2] * j[0] - i[0] * j[2], i[0] * j[1] - i[1] * j[0]];
    const kl = Math.hypot(...k);
    if (!(kl > 0)) throw fail(name, 'its two axes are parallel.');
    cols[2] = [k[0] / kl, k[1] / kl, k[2] / kl];
  }
  const direction = cols.flatMap((c) => [...c]) as unknown as Mat3;

  // Data.
  const dataFile = F.get('elementdatafile') ?? '';
  let raw: Uint8Array;
  let dataName = name;
  if (dataFile.toUpperCase() === 'LOCAL') {
    raw = file.bytes.subarray(dataStart);
  } else {
    if (/^list\b/i.test(dataFile) || dataFile.includes('%')) {
      throw new AppError(
        'unsupported-format',
        `${name}: image data split over several files ('ElementDataFile = ${dataFile}') is not supported. Save it as one .mha file.`,
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
  }
  const headerSize = Number(F.get('headersize') ?? 0);
  if (!Number.isInteger(headerSize) || headerSize < -1)
    throw fail(name, `HeaderSize '${F.get('headersize') ?? ''}' must be -1 or a whole number of bytes.`);
  const compressed = isTrue(F.get('compresseddata'));
  let start: number;
  if (compressed) {
    if (headerSize > 0) raw = raw.subarray(headerSize);
    const cs = Number(F.get('compresseddatasize') ?? NaN);
    if (Number.isInteger(cs) && cs > 0) {
      if (cs > raw.length) throw truncated(dataName, cs, raw.length);
      raw = raw.subarray(0, cs);
    }
    raw = inflateChecked(raw, dataName, opts, 'zlib');
    start = 0;
  } else {
    start = headerSize === -1 ? raw.length - need : headerSize;
  }
  if (start < 0 || start + need > raw.length)
    throw truncated(dataName, need, raw.length - Math.max(0, start));
  const data = samplesFromBytes(raw.subarray(start, start + n * size), type, littleEndian);
  if (!littleEndian && size > 1) notes.push('Big-endian MetaImage: bytes were swapped on read.');
  if (type === 'float64') notes.push('Double-precision samples were stored as float32.');
  const volume: Volume = {
    dims,
    spacing,
    spacingKnown,
    origin,
    direction,
    data,
    modality: opts.modality ?? 'OT',
  };
  return { volume, format: 'metaimage', notes, is8bit: data instanceof Uint8Array };
}
