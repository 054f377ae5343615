import { gzipSync } from 'fflate';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../errors';
import type { Mat3, Volume } from '../image/types';
import { voxelToWorld } from '../image/volume';
import { guardAlloc } from './budget';
import { readSingleFile } from './index';
import { looksLikeNifti, readNifti } from './nifti';
import { writeNifti } from './nifti-write';
import type { InputFile } from './types';

// ---------------------------------------------------------------------------------------------------------
// A NIfTI-1 header built byte by byte from the standard (nifti1.h), independent of nifti.ts.

interface Nifti1Fields {
  readonly sizeofHdr?: number;
  /** dim[0..7]. */
  readonly dim: readonly number[];
  readonly datatype: number;
  readonly bitpix: number;
  /** pixdim[0..7]; pixdim[0] is qfac. */
  readonly pixdim?: readonly number[];
  readonly voxOffset?: number;
  readonly sclSlope?: number;
  readonly sclInter?: number;
  readonly qformCode?: number;
  readonly sformCode?: number;
  /** quatern_b, quatern_c, quatern_d. */
  readonly quatern?: readonly [number, number, number];
  readonly qoffset?: readonly [number, number, number];
  readonly srow?: readonly [readonly number[], readonly number[], readonly number[]];
  /** 4 bytes at 344 ('n+1\0' for a single file). */
  readonly magic?: string;
  readonly littleEndian?: boolean;
}

/** 348 header bytes plus the 4-byte extension flag (all zero), i.e. 352 bytes. */
function nifti1Header(f: Nifti1Fields): Uint8Array {
  const le = f.littleEndian ?? true;
  const out = new Uint8Array(352);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, f.sizeofHdr ?? 348, le);
  for (let i = 0; i < 8; i++) dv.setInt16(40 + 2 * i, f.dim[i] ?? 0, le);
  dv.setInt16(70, f.datatype, le);
  dv.setInt16(72, f.bitpix, le);
  const pixdim = f.pixdim ?? [1, 1, 1, 1, 1, 1, 1, 1];
  for (let i = 0; i < 8; i++) dv.setFloat32(76 + 4 * i, pixdim[i] ?? 0, le);
  dv.setFloat32(108, f.voxOffset ?? 352, le);
  dv.setFloat32(112, f.sclSlope ?? 1, le);
  dv.setFloat32(116, f.sclInter ?? 0, le);
  dv.setInt16(252, f.qformCode ?? 0, le);
  dv.setInt16(254, f.sformCode ?? 0, le);
  const q = f.quatern ?? [0, 0, 0];
  const qo = f.qoffset ?? [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    dv.setFloat32(256 + 4 * i, q[i] ?? 0, le);
    dv.setFloat32(268 + 4 * i, qo[i] ?? 0, le);
  }
  const srow = f.srow ?? [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ];
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 4; c++) dv.setFloat32(280 + 16 * r + 4 * c, srow[r]?.[c] ?? 0, le);
  const magic = f.magic ?? 'n+1\0';
  for (let i = 0; i < 4; i++) out[344 + i] = magic.charCodeAt(i) || 0;
  return out;
}

type Sample = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'float32' | 'float64';
const DATATYPE: Readonly<Record<Sample, readonly [code: number, bytes: number]>> = {
  uint8: [2, 1],
  int16: [4, 2],
  int32: [8, 4],
  float32: [16, 4],
  float64: [64, 8],
  int8: [256, 1],
  uint16: [512, 2],
};

function encode(values: readonly number[], type: Sample, le: boolean): Uint8Array {
  const size = DATATYPE[type][1];
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    const o = i * size;
    if (type === 'uint8') dv.setUint8(o, v);
    else if (type === 'int8') dv.setInt8(o, v);
    else if (type === 'int16') dv.setInt16(o, v, le);
    else if (type === 'uint16') dv.setUint16(o, v, le);
    else if (type === 'int32') dv.setInt32(o, v, le);
    else if (type === 'float32') dv.setFloat32(o, v, le);
    else dv.setFloat64(o, v, le);
  });
  return out;
}

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const NX = 3;
const NY = 2;
const NZ = 2;
/** Voxel (i, j, k) holds i + 10 j + 100 k − 50: distinct, some negative. */
const VALUES = Array.from({ length: NX * NY * NZ }, (_, x) => {
  const i = x % NX;
  const j = Math.floor(x / NX) % NY;
  const k = Math.floor(x / (NX * NY));
  return i + 10 * j + 100 * k - 50;
});

/** A whole single-file NIfTI-1 of VALUES (or `values`) with the header fields given. */
function nifti(
  over: Partial<Nifti1Fields> = {},
  type: Sample = 'int16',
  values: readonly number[] = VALUES,
): Uint8Array {
  const [datatype, bytes] = DATATYPE[type];
  const le = over.littleEndian ?? true;
  const h = nifti1Header({ dim: [3, NX, NY, NZ, 1, 1, 1, 1], datatype, bitpix: 8 * bytes, ...over });
  return concat(h, encode(values, type, le));
}

function expectCode(fn: () => unknown, code: ErrorCode, text?: RegExp): AppError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(AppError);
  const e = caught as AppError;
  expect(e.code, e.message).toBe(code);
  if (text) expect(e.message).toMatch(text);
  return e;
}

const file = (bytes: Uint8Array, name = 'img.nii'): InputFile => ({ name, bytes });
const close = (a: readonly number[], b: readonly number[]) =>
  a.forEach((x, i) => expect(x, `element ${i}`).toBeCloseTo(b[i] ?? NaN, 5));

// ---------------------------------------------------------------------------------------------------------

describe('NIfTI write → read', () => {
  // An oblique LPS grid: i along (0.6, 0.8, 0), j along (−0.8, 0.6, 0), k along +z (orthonormal by hand).
  const direction: Mat3 = [0.6, 0.8, 0, -0.8, 0.6, 0, 0, 0, 1];
  const base: Pick<Volume, 'dims' | 'spacing' | 'origin' | 'direction'> = {
    dims: [NX, NY, NZ],
    spacing: [0.5, 1.25, 3],
    origin: [-12, 7.5, 40],
    direction,
  };

  it.each([
    ['uint8', Uint8Array.from(VALUES.map((v) => v + 60))],
    ['int16', Int16Array.from(VALUES)],
    ['float32', Float32Array.from(VALUES.map((v) => v / 4))],
  ] as const)('round-trips %s values and the LPS geometry', (datatype, data) => {
    const bytes = writeNifti({ ...base, data }, datatype, 'a test volume');
    // 352 header bytes then the voxels, per the standard.
    expect(bytes.length).toBe(352 + data.length * data.BYTES_PER_ELEMENT);
    expect(looksLikeNifti(bytes)).toBe(true);
    const r = readNifti(file(bytes));
    expect(r.format).toBe('nifti');
    expect(r.volume.dims).toEqual([NX, NY, NZ]);
    expect(r.volume.data.constructor).toBe(data.constructor);
    expect([...r.volume.data]).toEqual([...data]);
    close([...r.volume.spacing], [...base.spacing]);
    close([...r.volume.origin], [...base.origin]);
    close([...r.volume.direction], [...direction]);
    expect(r.is8bit).toBe(datatype === 'uint8');
    expect(r.notes).toEqual([]);
  });

  it('stores the sform rows as RAS (x and y negated from LPS), as the standard requires', () => {
    const bytes = writeNifti({ ...base, data: Int16Array.from(VALUES) }, 'int16');
    const dv = new DataView(bytes.buffer);
    expect(dv.getInt16(254, true)).toBe(1);
    // srow_x[3] is the RAS x of voxel 0: −(LPS x) = 12.
    expect(dv.getFloat32(280 + 12, true)).toBeCloseTo(12, 5);
    expect(dv.getFloat32(296 + 12, true)).toBeCloseTo(-7.5, 5);
    expect(dv.getFloat32(312 + 12, true)).toBeCloseTo(40, 5);
    // srow_x[0] = RAS x step of i = −0.6 × 0.5.
    expect(dv.getFloat32(280, true)).toBeCloseTo(-0.3, 5);
    expect(String.fromCharCode(...bytes.subarray(344, 348))).toBe('n+1\0');
  });
});

describe('NIfTI geometry from hand-built headers', () => {
  it('reads the sform (permuted axes) and converts RAS to LPS', () => {
    // RAS(i, j, k) = (−2k + 50, 1.5i − 10, 2.5j + 5).
    const bytes = nifti({
      sformCode: 2,
      srow: [
        [0, 0, -2, 50],
        [1.5, 0, 0, -10],
        [0, 2.5, 0, 5],
      ],
      // A qform that must lose to the sform.
      qformCode: 1,
      quatern: [0, 0, 1],
      qoffset: [1, 2, 3],
    });
    const v = readNifti(file(bytes)).volume;
    close([...v.spacing], [1.5, 2.5, 2]);
    for (const [i, j, k] of [
      [0, 0, 0],
      [2, 1, 1],
      [1, 0, 1],
    ] as const) {
      close([...voxelToWorld(v, i, j, k)], [-(-2 * k + 50), -(1.5 * i - 10), 2.5 * j + 5]);
    }
  });

  it('reads the qform (quaternion, qfac −1) when there is no sform', () => {
    // 90° about z: (a, b, c, d) = (cos 45°, 0, 0, sin 45°) → R = [[0,−1,0],[1,0,0],[0,0,1]] (nifti1.h).
    const s = Math.SQRT1_2;
    const bytes = nifti({
      qformCode: 1,
      quatern: [0, 0, s],
      qoffset: [10, 20, 30],
      pixdim: [-1, 2, 3, 4, 1, 1, 1, 1],
    });
    const v = readNifti(file(bytes)).volume;
    close([...v.spacing], [2, 3, 4]);
    // RAS = R · (i·2, j·3, k·4·qfac) + qoffset, qfac = −1.
    for (const [i, j, k] of [
      [0, 0, 0],
      [1, 1, 1],
      [2, 0, 1],
    ] as const) {
      const ras = [-3 * j + 10, 2 * i + 20, -4 * k + 30];
      close([...voxelToWorld(v, i, j, k)], [-(ras[0] ?? 0), -(ras[1] ?? 0), ras[2] ?? 0]);
    }
  });

  it('ignores a qform or sform holding non-finite numbers (regression: spacing Infinity; found by fuzzing)', () => {
    const pixdim = [1, 0.7, 0.8, 2, 1, 1, 1, 1];
    for (const over of [
      { qformCode: 1, quatern: [Number.POSITIVE_INFINITY, 0, 0] as const },
      { qformCode: 1, qoffset: [0, Number.NaN, 0] as const },
      {
        sformCode: 1,
        srow: [
          [Number.NEGATIVE_INFINITY, 0, 0, 0],
          [0, 1, 0, 0],
          [0, 0, 1, 0],
        ] as const,
        qformCode: 1,
        quatern: [0, 0, Number.NaN] as const,
      },
    ]) {
      const v = readNifti(file(nifti({ pixdim, ...over }))).volume;
      // Method 1 of nifti1.h: pixdim scaling on the RAS axes, then x and y negated for LPS.
      close([...v.spacing], [0.7, 0.8, 2]);
      close([...v.direction], [-1, 0, 0, 0, -1, 0, 0, 0, 1]);
      close([...v.origin], [0, 0, 0]);
    }
  });

  it('falls back to pixdim alone (RAS axes) without qform or sform', () => {
    const v = readNifti(file(nifti({ pixdim: [1, 0.7, 0.8, 2, 1, 1, 1, 1] }))).volume;
    close([...v.spacing], [0.7, 0.8, 2]);
    close([...v.direction], [-1, 0, 0, 0, -1, 0, 0, 0, 1]);
    close([...v.origin], [0, 0, 0]);
    expect(v.spacingKnown).toBe(true);
  });

  it('reads a 2-D file as one slice and a 4-D file as its first volume, with a note', () => {
    const two = readNifti(file(nifti({ dim: [2, NX, NY * NZ, 1, 1, 1, 1, 1] })));
    expect(two.volume.dims).toEqual([NX, NY * NZ, 1]);
    expect([...two.volume.data]).toEqual(VALUES);
    // 4-D: two time points of NX×NY×1; only the first NX×NY values are the first volume.
    const four = readNifti(file(nifti({ dim: [4, NX, NY, 1, 2, 1, 1, 1] })));
    expect(four.volume.dims).toEqual([NX, NY, 1]);
    expect([...four.volume.data]).toEqual(VALUES.slice(0, NX * NY));
    expect(four.notes.join(' ')).toMatch(/first volume/);
  });
});

describe('NIfTI header checks (item 4)', () => {
  it.each([
    ['dim[0] = 0', [0, NX, NY, NZ, 1, 1, 1, 1]],
    ['dim[0] = 8', [8, NX, NY, NZ, 1, 1, 1, 1]],
    ['dim[0] negative', [-3, NX, NY, NZ, 1, 1, 1, 1]],
    ['dim[2] = 0', [3, NX, 0, NZ, 1, 1, 1, 1]],
    ['dim[3] negative', [3, NX, NY, -2, 1, 1, 1, 1]],
    ['dim[1] negative', [3, -1, NY, NZ, 1, 1, 1, 1]],
  ])('refuses %s as a corrupt file, naming the file', (_, dim) => {
    const e = expectCode(() => readNifti(file(nifti({ dim }), 'dims.nii')), 'corrupt-file', /dims\.nii/);
    expect(e.subject).toBe('dims.nii');
  });

  it.each([0, 100, 348, 351, Number.NaN, -352])('refuses vox_offset %s (inside the header)', (voxOffset) => {
    expectCode(() => readNifti(file(nifti({ voxOffset }))), 'corrupt-file', /vox_offset/);
  });

  it('refuses vox_offset beyond the end of the file as truncated', () => {
    const bytes = nifti({ voxOffset: 4096 });
    expect(bytes.length).toBeLessThan(4096);
    expectCode(() => readNifti(file(bytes)), 'truncated-file', /beyond the end/);
  });

  it('reads voxels from a vox_offset past the header (extension bytes skipped)', () => {
    const data = encode(VALUES, 'int16', true);
    const bytes = concat(
      nifti1Header({ dim: [3, NX, NY, NZ, 1, 1, 1, 1], datatype: 4, bitpix: 16, voxOffset: 368 }),
      new Uint8Array(16).fill(0xee),
      data,
    );
    expect([...readNifti(file(bytes)).volume.data]).toEqual(VALUES);
  });

  it('refuses data larger than the file as truncated, at every cut inside the voxels', () => {
    const whole = nifti();
    for (const cut of [352, 353, whole.length - 2, whole.length - 1]) {
      expectCode(() => readNifti(file(whole.subarray(0, cut), 'cut.nii')), 'truncated-file', /cut\.nii/);
    }
    // Cut inside the header: also truncated (the file starts like NIfTI).
    for (const cut of [4, 100, 347]) {
      expectCode(() => readNifti(file(whole.subarray(0, cut))), 'truncated-file');
    }
  });

  it('refuses an unsupported datatype and a header-only (.hdr/.img) file as unsupported', () => {
    expectCode(
      () =>
        readNifti(
          file(concat(nifti1Header({ dim: [3, 1, 1, 1], datatype: 32, bitpix: 64 }), new Uint8Array(8))),
        ),
      'unsupported-format',
      /datatype 32/,
    );
    expectCode(() => readNifti(file(nifti({ magic: 'ni1\0' }))), 'unsupported-format', /\.hdr\/\.img/);
  });

  it('refuses a bad magic and a bad sizeof_hdr as corrupt', () => {
    expectCode(() => readNifti(file(nifti({ magic: 'xyz\0' }))), 'corrupt-file', /magic/);
    expectCode(() => readNifti(file(nifti({ sizeofHdr: 349 }))), 'corrupt-file', /not a NIfTI/);
  });
});

describe('NIfTI scaling (item 4)', () => {
  const scaled = (sclSlope: number, sclInter: number, type: Sample = 'int16') => [
    ...readNifti(file(nifti({ sclSlope, sclInter }, type))).volume.data,
  ];

  it('treats scl_slope 0 and NaN as 1 (stored values unchanged)', () => {
    expect(scaled(0, 0)).toEqual(VALUES);
    expect(scaled(Number.NaN, 0)).toEqual(VALUES);
    expect(scaled(Number.NaN, Number.NaN)).toEqual(VALUES);
  });

  it('applies a slope alone and an intercept alone', () => {
    expect(scaled(2, 0)).toEqual(VALUES.map((v) => 2 * v));
    expect(scaled(1, -1024)).toEqual(VALUES.map((v) => v - 1024));
    // Slope 0 means 1, so an intercept beside it still applies.
    expect(scaled(0, 5)).toEqual(VALUES.map((v) => v + 5));
  });

  it('applies slope and intercept together, in floating point for fractional values', () => {
    const r = readNifti(file(nifti({ sclSlope: 0.5, sclInter: 1.25 })));
    expect(r.volume.data).toBeInstanceOf(Float32Array);
    close(
      [...r.volume.data],
      VALUES.map((v) => 0.5 * v + 1.25),
    );
    expect(r.notes.join(' ')).toMatch(/slope 0\.5 and intercept 1\.25/);
    const u8 = VALUES.map((v) => v + 50);
    const r8 = readNifti(file(nifti({ sclSlope: -3, sclInter: 7 }, 'uint8', u8)));
    expect([...r8.volume.data]).toEqual(u8.map((v) => -3 * v + 7));
  });

  it('keeps values exact when an integer slope takes int16 beyond the int32 range (regression)', () => {
    // 30000 × 100000 = 3e9 > 2³¹: an int32 result would wrap to a negative number.
    const r = readNifti(
      file(nifti({ dim: [3, 2, 1, 1, 1, 1, 1, 1], sclSlope: 100000 }, 'int16', [30000, -2])),
    );
    expect([...r.volume.data]).toEqual([3e9, -200000]);
  });
});

describe('NIfTI byte order (item 4)', () => {
  it('byte-swaps a big-endian int16 file to the values written', () => {
    const bytes = nifti({ littleEndian: false, pixdim: [1, 2, 3, 4, 1, 1, 1, 1] });
    // The premise: these bytes are big-endian (sizeof_hdr reads 348 only that way).
    expect(new DataView(bytes.buffer).getInt32(0, false)).toBe(348);
    expect(new DataView(bytes.buffer).getInt32(0, true)).not.toBe(348);
    const r = readNifti(file(bytes));
    expect([...r.volume.data]).toEqual(VALUES);
    close([...r.volume.spacing], [2, 3, 4]);
    expect(r.notes.join(' ')).toMatch(/Big-endian/);
  });

  it.each(['uint16', 'int32', 'float32', 'float64'] as const)('byte-swaps big-endian %s', (type) => {
    const values = type === 'uint16' ? VALUES.map((v) => v + 1000) : VALUES.map((v) => v * 3);
    const r = readNifti(file(nifti({ littleEndian: false }, type, values)));
    expect([...r.volume.data]).toEqual(values);
  });

  it('applies big-endian scl_slope and scl_inter', () => {
    const r = readNifti(file(nifti({ littleEndian: false, sclSlope: 2, sclInter: 3 })));
    expect([...r.volume.data]).toEqual(VALUES.map((v) => 2 * v + 3));
  });
});

describe('NIfTI compression and names (item 4)', () => {
  it('reads a .nii.gz that is gzip', () => {
    const gz = gzipSync(nifti());
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    const r = readNifti(file(gz, 'img.nii.gz'));
    expect([...r.volume.data]).toEqual(VALUES);
    expect(readSingleFile(file(gz, 'img.nii.gz')).volume.dims).toEqual([NX, NY, NZ]);
  });

  it('reads a .nii.gz that is really uncompressed NIfTI, with a note', () => {
    const r = readNifti(file(nifti(), 'plain.nii.gz'));
    expect([...r.volume.data]).toEqual(VALUES);
    expect(r.notes.join(' ')).toMatch(/not compressed/);
  });

  it('refuses a .nii.gz that is neither gzip nor NIfTI', () => {
    const junk = new TextEncoder().encode('this is a text file, not an image. '.repeat(20));
    expectCode(() => readNifti(file(junk, 'junk.nii.gz')), 'corrupt-file', /junk\.nii\.gz.*not gzip/);
  });

  it('refuses a gzip stream cut short', () => {
    const gz = gzipSync(nifti());
    // A gzip member ends with 8 trailer bytes (CRC-32, ISIZE; RFC 1952); cuts before them lose data.
    for (const cut of [10, 20, gz.length - 12, gz.length - 9]) {
      expectCode(() => readNifti(file(gz.subarray(0, cut), 'cut.nii.gz')), 'truncated-file', /cut\.nii\.gz/);
    }
  });

  it('refuses a non-NIfTI file named .nii as corrupt, not truncated, whatever its length', () => {
    for (const text of ['hello', 'not a NIfTI file at all; '.repeat(30)]) {
      const f = file(new TextEncoder().encode(text), 'notes.nii');
      expectCode(() => readNifti(f), 'corrupt-file', /notes\.nii.*not a NIfTI/);
      expectCode(() => readSingleFile(f), 'corrupt-file', /notes\.nii/);
    }
  });
});

describe('NIfTI size budget (item 5)', () => {
  it('refuses, from the header, a declaration over the budget before reading the voxels', () => {
    // 1000 × 1000 × 1000 int16 = 2 GB declared in a 352-byte file: size-budget, not truncated-file.
    const h = nifti1Header({ dim: [3, 1000, 1000, 1000, 1, 1, 1, 1], datatype: 4, bitpix: 16 });
    const e = expectCode(() => readNifti(file(h, 'huge.nii')), 'size-budget', /huge\.nii/);
    expect(e.message).toMatch(/1\.9 GiB/);
    // A small budget refuses a small file too, from its header.
    expectCode(() => readNifti(file(nifti()), { budgetBytes: 10 }), 'size-budget');
    expect(() => readNifti(file(nifti()), { budgetBytes: NX * NY * NZ * 2 })).not.toThrow();
  });

  it('refuses an oversized .nii.gz from its header while inflating', () => {
    // The header declares 40 MB; the stream holds only 2 MB (within the 10 MiB budget), so only the
    // declaration can be what is refused.
    const bytes = concat(
      nifti1Header({ dim: [3, 1000, 1000, 20, 1, 1, 1, 1], datatype: 4, bitpix: 16 }),
      new Uint8Array(2_000_000),
    );
    const gz = gzipSync(bytes);
    const e = expectCode(
      () => readNifti(file(gz, 'big.nii.gz'), { budgetBytes: 10 * 1024 * 1024 }),
      'size-budget',
      /big\.nii\.gz declares 38\.1 MiB/,
    );
    expect(e.detail).toMatch(/declared 40000352 bytes/);
  });

  it('turns an allocation RangeError into a typed out-of-memory error', () => {
    const e = expectCode(
      () => guardAlloc('scan.nii', () => new Uint8Array(2 ** 53)),
      'out-of-memory',
      /scan\.nii/,
    );
    expect(e.cause).toBeInstanceOf(RangeError);
  });
});

describe('NIfTI-2', () => {
  it('reads a hand-built little-endian NIfTI-2 file (540-byte header, 64-bit fields)', () => {
    const h = new Uint8Array(544);
    const dv = new DataView(h.buffer);
    dv.setInt32(0, 540, true);
    h.set(new TextEncoder().encode('n+2\0\r\n\x1a\n'), 4);
    dv.setInt16(12, 4, true); // int16
    dv.setInt16(14, 16, true);
    [3, NX, NY, NZ, 1, 1, 1, 1].forEach((d, i) => dv.setBigInt64(16 + 8 * i, BigInt(d), true));
    [1, 0.5, 0.6, 0.7, 1, 1, 1, 1].forEach((p, i) => dv.setFloat64(104 + 8 * i, p, true));
    dv.setBigInt64(168, 544n, true);
    dv.setFloat64(176, 1, true);
    dv.setInt32(348, 1, true); // sform_code
    const srow = [
      [0.5, 0, 0, 1],
      [0, 0.6, 0, 2],
      [0, 0, 0.7, 3],
    ];
    srow.forEach((row, r) => row.forEach((x, c) => dv.setFloat64(400 + 32 * r + 8 * c, x, true)));
    const v = readNifti(file(concat(h, encode(VALUES, 'int16', true)), 'two.nii')).volume;
    expect(v.dims).toEqual([NX, NY, NZ]);
    expect([...v.data]).toEqual(VALUES);
    close([...voxelToWorld(v, 1, 1, 1)], [-(0.5 + 1), -(0.6 + 2), 0.7 + 3]);
  });
});

describe('the shipped sample', () => {
  const dir = join(import.meta.dirname, '../../../public/sample');

  /** Header fields read straight from the decompressed bytes, per nifti1.h. */
  function header(raw: Uint8Array) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return {
      dim: Array.from({ length: 8 }, (_, i) => dv.getInt16(40 + 2 * i, true)),
      datatype: dv.getInt16(70, true),
      pixdim: Array.from({ length: 4 }, (_, i) => dv.getFloat32(76 + 4 * i, true)),
      voxOffset: dv.getFloat32(108, true),
      srowOffset: [0, 1, 2].map((r) => dv.getFloat32(280 + 16 * r + 12, true)),
    };
  }

  it('opens the CT and its segmentation with the dims, spacing, origin and voxels of their headers', () => {
    for (const [name, code, ctor] of [
      ['example_ct_sm.nii.gz', 4, Int16Array],
      ['example_seg.nii.gz', 2, Uint8Array],
    ] as const) {
      const gz = new Uint8Array(readFileSync(join(dir, name)));
      const raw = new Uint8Array(gunzipSync(gz));
      const h = header(raw);
      expect(h.dim[0]).toBe(3);
      expect(h.datatype).toBe(code);
      const r = readNifti({ name, bytes: gz });
      expect(r.volume.dims).toEqual(h.dim.slice(1, 4));
      const n = (h.dim[1] ?? 0) * (h.dim[2] ?? 0) * (h.dim[3] ?? 0);
      expect(r.volume.data.length).toBe(n);
      expect(r.volume.data).toBeInstanceOf(ctor);
      close([...r.volume.spacing], h.pixdim.slice(1, 4));
      close([...r.volume.origin], [-(h.srowOffset[0] ?? 0), -(h.srowOffset[1] ?? 0), h.srowOffset[2] ?? 0]);
      // Every 997th voxel equals the stored little-endian sample (slope 1, intercept 0 in both files).
      const body = new DataView(raw.buffer, raw.byteOffset + h.voxOffset);
      for (let i = 0; i < n; i += 997) {
        const stored = code === 4 ? body.getInt16(2 * i, true) : body.getUint8(i);
        expect(r.volume.data[i]).toBe(stored);
      }
    }
  });
});
