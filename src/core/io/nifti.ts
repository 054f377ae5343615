/**
 * NIfTI-1 and NIfTI-2 reader and NIfTI-1 writer. Geometry: sform when set, else qform, else pixdim;
 * NIfTI's RAS world is converted to the app's LPS. Scaling follows the standard: scl_slope 0 or NaN means
 * 1, and slope and intercept each apply on their own. Big-endian files are byte-swapped. Everything a
 * header declares is checked against the file and the size budget before allocation.
 */
import { AppError } from '../errors';
import type { Mat3, ScalarArray, Vec3, Volume } from '../image/types';
import { checkBudget, guardAlloc } from './budget';
import { gunzipChecked, isGzip } from './compression';
import type { InputFile, ReadOptions, ReadResult } from './types';

const DT: Record<
  number,
  { name: string; bytes: number; ctor: 'u8' | 'i8' | 'i16' | 'u16' | 'i32' | 'u32' | 'f32' | 'f64' | 'rgb' }
> = {
  2: { name: 'uint8', bytes: 1, ctor: 'u8' },
  4: { name: 'int16', bytes: 2, ctor: 'i16' },
  8: { name: 'int32', bytes: 4, ctor: 'i32' },
  16: { name: 'float32', bytes: 4, ctor: 'f32' },
  64: { name: 'float64', bytes: 8, ctor: 'f64' },
  128: { name: 'rgb24', bytes: 3, ctor: 'rgb' },
  256: { name: 'int8', bytes: 1, ctor: 'i8' },
  512: { name: 'uint16', bytes: 2, ctor: 'u16' },
  768: { name: 'uint32', bytes: 4, ctor: 'u32' },
};

interface Header {
  version: 1 | 2;
  littleEndian: boolean;
  dims: number[];
  datatype: number;
  bitpix: number;
  pixdim: number[];
  voxOffset: number;
  slope: number;
  inter: number;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  srow: [number[], number[], number[]];
  magic: string;
}

function fail(name: string, msg: string, detail?: string): AppError {
  return new AppError('corrupt-file', `${name}: ${msg}`, { subject: name, ...(detail ? { detail } : {}) });
}

function parseHeader(b: Uint8Array, name: string): Header {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 348) {
    // Only a file that starts like a NIfTI header (sizeof_hdr 348 or 540) is a cut-short one.
    const sizes = b.length >= 4 ? [dv.getInt32(0, true), dv.getInt32(0, false)] : [];
    if (!sizes.some((v) => v === 348 || v === 540))
      throw fail(name, `not a NIfTI file (${b.length} bytes, no NIfTI header).`);
    throw new AppError('truncated-file', `${name} is too short to be NIfTI (${b.length} bytes).`, {
      subject: name,
    });
  }
  const s1 = dv.getInt32(0, true);
  let version: 1 | 2;
  let le: boolean;
  if (s1 === 348) [version, le] = [1, true];
  else if (dv.getInt32(0, false) === 348) [version, le] = [1, false];
  else if (s1 === 540) [version, le] = [2, true];
  else if (dv.getInt32(0, false) === 540) [version, le] = [2, false];
  else throw fail(name, 'not a NIfTI file (header size is neither 348 nor 540).', `sizeof_hdr ${s1}`);
  if (version === 1) {
    const magic = String.fromCharCode(b[344] ?? 0, b[345] ?? 0, b[346] ?? 0);
    if (magic !== 'n+1' && magic !== 'ni1') throw fail(name, `not a NIfTI-1 file (magic '${magic}').`);
    const dims = Array.from({ length: 8 }, (_, i) => dv.getInt16(40 + 2 * i, le));
    const pixdim = Array.from({ length: 8 }, (_, i) => dv.getFloat32(76 + 4 * i, le));
    const f = (o: number) => dv.getFloat32(o, le);
    return {
      version,
      littleEndian: le,
      dims,
      datatype: dv.getInt16(70, le),
      bitpix: dv.getInt16(72, le),
      pixdim,
      voxOffset: f(108),
      slope: f(112),
      inter: f(116),
      qformCode: dv.getInt16(252, le),
      sformCode: dv.getInt16(254, le),
      quatern: [f(256), f(260), f(264)],
      qoffset: [f(268), f(272), f(276)],
      srow: [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f(280 + 16 * r + 4 * c))) as [
        number[],
        number[],
        number[],
      ],
      magic,
    };
  }
  if (b.length < 540)
    throw new AppError('truncated-file', `${name} is too short for a NIfTI-2 header.`, { subject: name });
  const magic = String.fromCharCode(b[4] ?? 0, b[5] ?? 0, b[6] ?? 0);
  if (magic !== 'n+2' && magic !== 'ni2') throw fail(name, `not a NIfTI-2 file (magic '${magic}').`);
  const i64 = (o: number) => Number(dv.getBigInt64(o, le));
  const d = (o: number) => dv.getFloat64(o, le);
  return {
    version,
    littleEndian: le,
    dims: Array.from({ length: 8 }, (_, i) => i64(16 + 8 * i)),
    datatype: dv.getInt16(12, le),
    bitpix: dv.getInt16(14, le),
    pixdim: Array.from({ length: 8 }, (_, i) => d(104 + 8 * i)),
    voxOffset: i64(168),
    slope: d(176),
    inter: d(184),
    qformCode: dv.getInt32(344, le),
    sformCode: dv.getInt32(348, le),
    quatern: [d(352), d(360), d(368)],
    qoffset: [d(376), d(384), d(392)],
    srow: [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => d(400 + 32 * r + 8 * c))) as [
      number[],
      number[],
      number[],
    ],
    magic,
  };
}

/** 4×4 RAS affine (row-major 3×4) from the header. */
function affineRas(h: Header, spacing: Vec3): number[][] {
  if (h.sformCode > 0 && h.srow.every((r) => r.every(Number.isFinite))) return h.srow.map((r) => [...r]);
  if (h.qformCode > 0 && [...h.quatern, ...h.qoffset].every(Number.isFinite)) {
    const [b, c, d] = h.quatern;
    const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
    const R = [
      [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
      [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
      [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
    ];
    const qfac = (h.pixdim[0] ?? 1) < 0 ? -1 : 1;
    const sc = [spacing[0], spacing[1], spacing[2] * qfac];
    return R.map((row, r) => [...row.map((v, col) => v * (sc[col] ?? 1)), h.qoffset[r] ?? 0]);
  }
  // Method 1 (no orientation): pixdim only. Identity RAS with the voxel sizes.
  return [
    [spacing[0], 0, 0, 0],
    [0, spacing[1], 0, 0],
    [0, 0, spacing[2], 0],
  ];
}

function swapInPlace(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, z = i + size - 1; a < z; a++, z--) {
      const t = bytes[a] ?? 0;
      bytes[a] = bytes[z] ?? 0;
      bytes[z] = t;
    }
  }
}

export function looksLikeNifti(b: Uint8Array): boolean {
  if (b.length < 348) return false;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return [dv.getInt32(0, true), dv.getInt32(0, false)].some((v) => v === 348 || v === 540);
}

export function readNifti(file: InputFile, opts: ReadOptions = {}): ReadResult {
  const { name } = file;
  const notes: string[] = [];
  let bytes = file.bytes;
  if (isGzip(bytes)) {
    bytes = gunzipChecked(bytes, name, opts, 540, (head) => {
      const h = parseHeader(head, name);
      const dt = DT[h.datatype];
      const n = h.dims
        .slice(1, Math.max(2, Math.min(8, (h.dims[0] ?? 0) + 1)))
        .reduce((a, x) => a * Math.max(1, x), 1);
      return h.voxOffset + n * (dt?.bytes ?? 8);
    });
  } else if (/\.gz$/i.test(name)) {
    if (!looksLikeNifti(bytes)) {
      throw new AppError(
        'corrupt-file',
        `${name} is named .gz but is not gzip-compressed, and not a NIfTI file either.`,
        { subject: name },
      );
    }
    notes.push(`${name} is named .gz but is not compressed; read as plain NIfTI.`);
  }
  const h = parseHeader(bytes, name);
  if (!h.littleEndian) notes.push('Big-endian NIfTI: bytes were swapped on read.');
  const nd = h.dims[0] ?? 0;
  if (nd < 1 || nd > 7) throw fail(name, `dim[0] = ${nd} is not a valid number of dimensions.`);
  const d = [1, 2, 3].map((i) => (i <= nd ? (h.dims[i] ?? 0) : 1));
  if (d.some((x) => !Number.isInteger(x) || x <= 0))
    throw fail(name, `image size ${d.join('×')} has an empty or negative dimension.`);
  const extra = h.dims.slice(4, nd + 1).reduce((a, x) => a * Math.max(1, x), 1);
  if (extra > 1) notes.push(`${nd}-D file: only the first volume (of ${extra}) is shown.`);
  const dt = DT[h.datatype];
  if (!dt)
    throw new AppError(
      'unsupported-format',
      `${name}: NIfTI datatype ${h.datatype} is not supported (use uint8/int16/int32/float32/float64).`,
      { subject: name },
    );
  const minOffset = h.version === 1 ? 352 : 544;
  const isPair = h.magic === 'ni1' || h.magic === 'ni2';
  if (isPair)
    throw new AppError(
      'unsupported-format',
      `${name} is a header-only NIfTI (.hdr/.img pair); convert it to a single .nii file.`,
      { subject: name },
    );
  if (!(h.voxOffset >= minOffset))
    throw fail(name, `vox_offset ${h.voxOffset} lies inside the header (must be ≥ ${minOffset}).`);
  const [nx = 1, ny = 1, nz = 1] = d;
  const n = nx * ny * nz;
  const need = n * dt.bytes;
  checkBudget(need * (dt.ctor === 'f64' || h.slope !== 1 ? 2 : 1), name, opts);
  const start = Math.floor(h.voxOffset);
  if (start > bytes.length)
    throw new AppError(
      'truncated-file',
      `${name}: vox_offset ${start} lies beyond the end of the file (${bytes.length} bytes).`,
      { subject: name },
    );
  if (start + need > bytes.length) {
    throw new AppError(
      'truncated-file',
      `${name} is truncated: the header declares ${need} bytes of voxels after offset ${start}, the file has ${bytes.length - start}.`,
      {
        subject: name,
      },
    );
  }
  const raw = guardAlloc(name, () => bytes.slice(start, start + need));
  if (!h.littleEndian) swapInPlace(raw, dt.ctor === 'rgb' ? 1 : dt.bytes);
  let rgb: Uint8Array | undefined;
  let data: ScalarArray;
  const buf = raw.buffer;
  switch (dt.ctor) {
    case 'u8':
      data = new Uint8Array(buf);
      break;
    case 'i8':
      data = new Int8Array(buf);
      break;
    case 'i16':
      data = new Int16Array(buf);
      break;
    case 'u16':
      data = new Uint16Array(buf);
      break;
    case 'i32':
      data = new Int32Array(buf);
      break;
    case 'u32':
      data = new Uint32Array(buf);
      break;
    case 'f32':
      data = new Float32Array(buf);
      break;
    case 'f64':
      data = Float32Array.from(new Float64Array(buf));
      break;
    case 'rgb': {
      rgb = raw;
      const grey = new Uint8Array(n);
      for (let i = 0; i < n; i++)
        grey[i] = Math.round(
          0.299 * (raw[3 * i] ?? 0) + 0.587 * (raw[3 * i + 1] ?? 0) + 0.114 * (raw[3 * i + 2] ?? 0),
        );
      data = grey;
      break;
    }
  }
  // Scaling: slope 0 or NaN means 1; slope and intercept each apply on their own.
  const slope = Number.isFinite(h.slope) && h.slope !== 0 ? h.slope : 1;
  const inter = Number.isFinite(h.inter) ? h.inter : 0;
  if (slope !== 1 || inter !== 0) {
    // Integer scaling of int16 stays exact in int32 only while |v · slope + inter| fits (|v| ≤ 32768).
    const integral =
      Number.isInteger(slope) &&
      Number.isInteger(inter) &&
      Math.abs(slope) * 32768 + Math.abs(inter) <= 2 ** 31 - 1;
    const out = integral && data instanceof Int16Array ? null : new Float32Array(n);
    if (out) {
      for (let i = 0; i < n; i++) out[i] = (data[i] ?? 0) * slope + inter;
      data = out;
    } else {
      const o32 = new Int32Array(n);
      for (let i = 0; i < n; i++) o32[i] = (data[i] ?? 0) * slope + inter;
      data = o32;
    }
    notes.push(`Values scaled by slope ${slope} and intercept ${inter}.`);
  }
  const sp = [1, 2, 3].map((i) => Math.abs(h.pixdim[i] ?? 1));
  const spacingKnown = sp.every((x) => Number.isFinite(x) && x > 0);
  const spacing0 = sp.map((x) => (Number.isFinite(x) && x > 0 ? x : 1)) as unknown as Vec3;
  const A = affineRas(h, spacing0);
  // RAS → LPS: negate the x and y rows.
  const L = A.map((row, r) => (r < 2 ? row.map((v) => -v) : row));
  const cols = [0, 1, 2].map((c) => [L[0]?.[c] ?? 0, L[1]?.[c] ?? 0, L[2]?.[c] ?? 0]);
  const spacing = cols.map((c) => Math.hypot(...c) || 1) as unknown as Vec3;
  const direction = cols.flatMap((c, i) => c.map((v) => v / (spacing[i] ?? 1))) as unknown as Mat3;
  const origin: Vec3 = [L[0]?.[3] ?? 0, L[1]?.[3] ?? 0, L[2]?.[3] ?? 0];
  const volume: Volume = {
    dims: [nx, ny, nz],
    spacing,
    spacingKnown,
    origin,
    direction,
    data,
    modality: opts.modality ?? 'OT',
  };
  return { volume, format: 'nifti', notes, is8bit: data instanceof Uint8Array, ...(rgb ? { rgb } : {}) };
}
