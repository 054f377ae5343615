import { zlibSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { Vec3 } from '../image/types';
import { voxelToWorld } from '../image/volume';
import { isMetaImage, readMetaImage } from './metaimage';
import { readNifti } from './nifti';
import { writeNifti } from './nifti-write';
import type { SampleType } from './bytes';
import type { InputFile } from './types';

const NX = 4;
const NY = 3;
const NZ = 2;
const VALUES = Array.from({ length: NX * NY * NZ }, (_, x) => {
  const i = x % NX;
  const j = Math.floor(x / NX) % NY;
  const k = Math.floor(x / (NX * NY));
  return i + 10 * j + 100 * k - 50;
});

// ITK writes TransformMatrix row by row, row a being the LPS direction of index axis a.
const A0: Vec3 = [0.6, 0.8, 0];
const A1: Vec3 = [0, 0, -1];
const A2: Vec3 = [-0.8, 0.6, 0];
const SP: Vec3 = [0.5, 0.7, 2];
const OFF: Vec3 = [5, -6, 7];

/** LPS world position by hand: Offset + Σ index · spacing · direction (no flips in MetaImage). */
function world(i: number, j: number, k: number): Vec3 {
  return [0, 1, 2].map(
    (a) => (OFF[a] ?? 0) + i * SP[0] * (A0[a] ?? 0) + j * SP[1] * (A1[a] ?? 0) + k * SP[2] * (A2[a] ?? 0),
  ) as unknown as Vec3;
}

function encode(values: readonly number[], type: SampleType, le = true): Uint8Array {
  const size = { int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, float32: 4, float64: 8 }[type];
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    const o = i * size;
    if (type === 'int8') dv.setInt8(o, v);
    else if (type === 'uint8') dv.setUint8(o, v);
    else if (type === 'int16') dv.setInt16(o, v, le);
    else if (type === 'uint16') dv.setUint16(o, v, le);
    else if (type === 'int32') dv.setInt32(o, v, le);
    else if (type === 'uint32') dv.setUint32(o, v, le);
    else if (type === 'float32') dv.setFloat32(o, v, le);
    else dv.setFloat64(o, v, le);
  });
  return out;
}

const BASE: [string, string][] = [
  ['ObjectType', 'Image'],
  ['NDims', '3'],
  ['BinaryData', 'True'],
  ['BinaryDataByteOrderMSB', 'False'],
  ['CompressedData', 'False'],
  ['TransformMatrix', [...A0, ...A1, ...A2].join(' ')],
  ['Offset', OFF.join(' ')],
  ['CenterOfRotation', '0 0 0'],
  ['AnatomicalOrientation', 'RAI'],
  ['ElementSpacing', SP.join(' ')],
  ['DimSize', `${NX} ${NY} ${NZ}`],
  ['ElementType', 'MET_SHORT'],
];

function headerText(fields: readonly [string, string][], dataFile: string): string {
  return `${fields.map(([k, v]) => `${k} = ${v}`).join('\n')}\nElementDataFile = ${dataFile}\n`;
}

function withFields(changes: Record<string, string | null>): [string, string][] {
  const out = BASE.filter(([k]) => !(k in changes) || changes[k] !== null).map(([k, v]): [string, string] => [
    k,
    changes[k] ?? v,
  ]);
  for (const [k, v] of Object.entries(changes))
    if (v !== null && !BASE.some(([b]) => b === k)) out.push([k, v]);
  return out;
}

function mha(fields: readonly [string, string][], data: Uint8Array, name = 'vol.mha'): InputFile {
  const h = new TextEncoder().encode(headerText(fields, 'LOCAL'));
  const bytes = new Uint8Array(h.length + data.length);
  bytes.set(h);
  bytes.set(data, h.length);
  return { name, bytes };
}

function mhd(fields: readonly [string, string][], dataFile: string, name = 'vol.mhd'): InputFile {
  return { name, bytes: new TextEncoder().encode(headerText(fields, dataFile)) };
}

function expectCode(fn: () => unknown, code: string, text?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect((caught as AppError).code).toBe(code);
  if (text) expect((caught as AppError).message).toMatch(text);
}

const reference = () => readMetaImage([mha(BASE, encode(VALUES, 'int16'))]);

describe('MetaImage geometry', () => {
  it('reads an .mha with its LPS geometry: TransformMatrix rows are the axis directions', () => {
    const r = reference();
    const v = r.volume;
    expect(r.format).toBe('metaimage');
    expect(v.dims).toEqual([NX, NY, NZ]);
    expect(v.spacing).toEqual(SP);
    expect(v.direction).toEqual([...A0, ...A1, ...A2]);
    expect(v.data).toBeInstanceOf(Int16Array);
    expect([...v.data]).toEqual(VALUES);
    for (const [i, j, k] of [
      [0, 0, 0],
      [3, 0, 0],
      [0, 2, 1],
      [3, 2, 1],
    ] as const) {
      const w = voxelToWorld(v, i, j, k);
      const e = world(i, j, k);
      w.forEach((x, a) => expect(x).toBeCloseTo(e[a] ?? NaN, 9));
    }
  });

  it('agrees with the NIfTI reader on every corner after a NIfTI round trip', () => {
    const v = reference().volume;
    const nii = readNifti({ name: 'x.nii', bytes: writeNifti(v, 'int16') }).volume;
    for (const [i, j, k] of [
      [0, 0, 0],
      [3, 2, 1],
    ] as const) {
      const a = voxelToWorld(v, i, j, k);
      const b = voxelToWorld(nii, i, j, k);
      a.forEach((x, n) => expect(b[n]).toBeCloseTo(x, 4));
    }
  });

  it('reads a 2-D CAMUS-style .mhd + .raw as dims [w, h, 1], 8-bit', () => {
    const px = VALUES.slice(0, NX * NY).map((x) => x + 50);
    const fields: [string, string][] = [
      ['ObjectType', 'Image'],
      ['NDims', '2'],
      ['TransformMatrix', '1 0 0 1'],
      ['Offset', '0 0'],
      ['ElementSpacing', '0.154 0.308'],
      ['DimSize', `${NX} ${NY}`],
      ['ElementType', 'MET_UCHAR'],
    ];
    const r = readMetaImage([
      mhd(fields, 'patient0001_2CH_ED.raw', 'patient0001_2CH_ED.mhd'),
      { name: 'patient0001_2CH_ED.raw', bytes: Uint8Array.from(px) },
    ]);
    expect(r.volume.dims).toEqual([NX, NY, 1]);
    expect(r.volume.spacing).toEqual([0.154, 0.308, 1]);
    expect(r.volume.direction).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(r.is8bit).toBe(true);
    expect([...r.volume.data]).toEqual(px);
  });

  it('keeps the first volume of a 4-D image', () => {
    const fields = withFields({
      NDims: '4',
      DimSize: `${NX} ${NY} ${NZ} 2`,
      ElementSpacing: `${SP.join(' ')} 1`,
      Offset: `${OFF.join(' ')} 0`,
      TransformMatrix: [...A0, 0, ...A1, 0, ...A2, 0, 0, 0, 0, 1].join(' '),
    });
    const r = readMetaImage([mha(fields, encode([...VALUES, ...VALUES.map((x) => -x)], 'int16'))]);
    expect([...r.volume.data]).toEqual(VALUES);
    expect(r.volume.direction).toEqual([...A0, ...A1, ...A2]);
    expect(r.notes.join(' ')).toMatch(/first of 2 volumes/);
  });
});

describe('MetaImage data', () => {
  it('reads .mhd + .raw, .mhd + .zraw, big-endian and header-skipped data to the same values', () => {
    const data = encode(VALUES, 'int16');
    const raw = readMetaImage([mhd(BASE, 'sub/vol.raw'), { name: 'vol.raw', bytes: data }]);
    expect([...raw.volume.data]).toEqual(VALUES);
    const z = zlibSync(data);
    const zr = readMetaImage([
      mhd(withFields({ CompressedData: 'True', CompressedDataSize: String(z.length) }), 'vol.zraw'),
      { name: 'vol.zraw', bytes: z },
    ]);
    expect([...zr.volume.data]).toEqual(VALUES);
    const be = readMetaImage([
      mha(withFields({ BinaryDataByteOrderMSB: 'True' }), encode(VALUES, 'int16', false)),
    ]);
    expect([...be.volume.data]).toEqual(VALUES);
    expect(be.notes.join(' ')).toMatch(/Big-endian/);
    const padded = new Uint8Array(16 + data.length);
    padded.set(data, 16);
    const skip = readMetaImage([
      mhd(withFields({ HeaderSize: '16' }), 'vol.raw'),
      { name: 'vol.raw', bytes: padded },
    ]);
    expect([...skip.volume.data]).toEqual(VALUES);
    const atEnd = readMetaImage([
      mhd(withFields({ HeaderSize: '-1' }), 'vol.raw'),
      { name: 'vol.raw', bytes: padded },
    ]);
    expect([...atEnd.volume.data]).toEqual(VALUES);
  });

  it('reads every element type with its own array type', () => {
    const cases: [string, SampleType, readonly number[], string][] = [
      ['MET_UCHAR', 'uint8', VALUES.map((x) => x + 50), 'Uint8Array'],
      ['MET_CHAR', 'int8', VALUES.map((x) => Math.max(-128, Math.min(127, x))), 'Int8Array'],
      ['MET_USHORT', 'uint16', VALUES.map((x) => x + 60000 - 50), 'Uint16Array'],
      ['MET_INT', 'int32', VALUES.map((x) => x * 100000), 'Int32Array'],
      ['MET_UINT', 'uint32', VALUES.map((x) => (x + 50) * 20000000), 'Uint32Array'],
      ['MET_FLOAT', 'float32', VALUES.map((x) => x / 4), 'Float32Array'],
      ['MET_DOUBLE', 'float64', VALUES.map((x) => x / 8), 'Float32Array'],
    ];
    for (const [name, type, vals, ctor] of cases) {
      const r = readMetaImage([mha(withFields({ ElementType: name }), encode(vals, type))]);
      expect(r.volume.data.constructor.name, name).toBe(ctor);
      expect([...r.volume.data], name).toEqual(vals);
    }
  });
});

describe('MetaImage refusals', () => {
  it('recognises a MetaImage header', () => {
    expect(isMetaImage(mha(BASE, new Uint8Array(0)).bytes)).toBe(true);
    expect(isMetaImage(new TextEncoder().encode('NRRD0004\n'))).toBe(false);
    expectCode(
      () => readMetaImage([{ name: 'x.raw', bytes: new Uint8Array(10) }]),
      'corrupt-file',
      /not a MetaImage/,
    );
  });

  it('reports short raw or compressed data as truncated', () => {
    const data = encode(VALUES, 'int16');
    expectCode(() => readMetaImage([mha(BASE, data.subarray(0, 47))]), 'truncated-file', /declares 48 bytes/);
    const z = zlibSync(data);
    expectCode(
      () => readMetaImage([mha(withFields({ CompressedData: 'True' }), z.subarray(0, z.length - 10))]),
      'truncated-file',
    );
    expectCode(
      () => readMetaImage([mha(withFields({ CompressedData: 'True' }), zlibSync(data.subarray(0, 30)))]),
      'truncated-file',
    );
    expectCode(
      () => readMetaImage([mhd(BASE, 'vol.raw'), { name: 'vol.raw', bytes: data.subarray(0, 20) }]),
      'truncated-file',
    );
  });

  it('asks for a missing data file and refuses what it cannot read', () => {
    expectCode(
      () => readMetaImage([mhd(BASE, 'vol.raw')]),
      'invalid-argument',
      /vol\.raw.*Select both files/,
    );
    expectCode(
      () => readMetaImage([mha(withFields({ ElementNumberOfChannels: '3' }), new Uint8Array(144))]),
      'unsupported-format',
      /3 channels/,
    );
    expectCode(
      () => readMetaImage([mha(withFields({ ElementType: 'MET_LONG_LONG' }), new Uint8Array(192))]),
      'unsupported-format',
    );
    expectCode(
      () => readMetaImage([mha(withFields({ BinaryData: 'False' }), new Uint8Array(48))]),
      'unsupported-format',
      /ASCII/,
    );
    expectCode(() => readMetaImage([mhd(BASE, 'LIST')]), 'unsupported-format', /several files/);
    expectCode(
      () =>
        readMetaImage([{ name: 'h.mhd', bytes: new TextEncoder().encode('NDims = 3\nDimSize = 1 1 1\n') }]),
      'corrupt-file',
      /ElementDataFile/,
    );
  });

  it('refuses a declared size over the budget before reading any data', () => {
    expectCode(
      () => readMetaImage([mha(withFields({ DimSize: '100000 100000 1000' }), new Uint8Array(8))]),
      'size-budget',
    );
    const z = zlibSync(encode(VALUES, 'int16'));
    expectCode(
      () =>
        readMetaImage([mha(withFields({ CompressedData: 'True', DimSize: '4 3 2' }), z)], {
          budgetBytes: 40,
        }),
      'size-budget',
    );
  });
});
