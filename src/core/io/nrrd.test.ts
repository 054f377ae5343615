import { gzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { Vec3 } from '../image/types';
import { voxelToWorld } from '../image/volume';
import { readNifti } from './nifti';
import { writeNifti } from './nifti-write';
import type { SampleType } from './bytes';
import { isNrrd, readNrrd } from './nrrd';
import type { InputFile } from './types';

const NX = 4;
const NY = 3;
const NZ = 2;
const value = (i: number, j: number, k: number) => i + 10 * j + 100 * k - 50;
const VALUES = Array.from({ length: NX * NY * NZ }, (_, x) =>
  value(x % NX, Math.floor(x / NX) % NY, Math.floor(x / (NX * NY))),
);

// RAS geometry: i and j turned in the axial plane, 1.5 and 0.7 mm; k 2.5 mm up.
const DI: Vec3 = [0.9, 1.2, 0];
const DJ: Vec3 = [-0.56, 0.42, 0];
const DK: Vec3 = [0, 0, 2.5];
const ORIGIN: Vec3 = [10, 20, -30];
const vec = (v: Vec3) => `(${v.join(',')})`;

/** LPS world position of voxel (i, j, k) by hand: the RAS affine, then x and y negated. */
function lps(i: number, j: number, k: number): Vec3 {
  const ras = [0, 1, 2].map((a) => (ORIGIN[a] ?? 0) + i * (DI[a] ?? 0) + j * (DJ[a] ?? 0) + k * (DK[a] ?? 0));
  return [-(ras[0] ?? 0), -(ras[1] ?? 0), ras[2] ?? 0];
}

function encode(values: readonly number[], type: SampleType, le: boolean): Uint8Array {
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

function header(fields: Record<string, string>): string {
  return `NRRD0004\n# made by a test\n${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('')}`;
}

const BASE: Record<string, string> = {
  type: 'short',
  dimension: '3',
  space: 'right-anterior-superior',
  sizes: `${NX} ${NY} ${NZ}`,
  'space directions': `${vec(DI)} ${vec(DJ)} ${vec(DK)}`,
  kinds: 'domain domain domain',
  endian: 'little',
  encoding: 'raw',
  'space origin': vec(ORIGIN),
};

function attached(fields: Record<string, string>, data: Uint8Array, name = 'vol.nrrd'): InputFile {
  const h = new TextEncoder().encode(`${header(fields)}\n`);
  const bytes = new Uint8Array(h.length + data.length);
  bytes.set(h);
  bytes.set(data, h.length);
  return { name, bytes };
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

const reference = () => readNrrd([attached(BASE, encode(VALUES, 'int16', true))]);

describe('NRRD geometry', () => {
  it('converts RAS space directions and origin to LPS, voxel by voxel', () => {
    const r = reference();
    const v = r.volume;
    expect(r.format).toBe('nrrd');
    expect(v.dims).toEqual([NX, NY, NZ]);
    expect(v.spacing[0]).toBeCloseTo(1.5, 12);
    expect(v.spacing[1]).toBeCloseTo(0.7, 12);
    expect(v.spacing[2]).toBeCloseTo(2.5, 12);
    expect(v.data).toBeInstanceOf(Int16Array);
    expect([...v.data]).toEqual(VALUES);
    for (const [i, j, k] of [
      [0, 0, 0],
      [3, 0, 0],
      [0, 2, 1],
      [3, 2, 1],
    ] as const) {
      const w = voxelToWorld(v, i, j, k);
      const e = lps(i, j, k);
      w.forEach((x, a) => expect(x).toBeCloseTo(e[a] ?? NaN, 9));
    }
  });

  it('agrees with the NIfTI reader on every corner after a NIfTI round trip', () => {
    const v = reference().volume;
    const nii = readNifti({ name: 'x.nii', bytes: writeNifti(v, 'int16') }).volume;
    for (const [i, j, k] of [
      [0, 0, 0],
      [3, 2, 1],
      [3, 0, 1],
    ] as const) {
      const a = voxelToWorld(v, i, j, k);
      const b = voxelToWorld(nii, i, j, k);
      a.forEach((x, n) => expect(b[n]).toBeCloseTo(x, 4));
    }
  });

  it('keeps LPS as is, flips only y for LAS, and uses a non-anatomical space as LPS with a note', () => {
    const data = encode(VALUES, 'int16', true);
    const lpsV = readNrrd([attached({ ...BASE, space: 'left-posterior-superior' }, data)]).volume;
    expect(voxelToWorld(lpsV, 1, 0, 0)).toEqual([ORIGIN[0] + DI[0], ORIGIN[1] + DI[1], ORIGIN[2]]);
    const las = readNrrd([attached({ ...BASE, space: 'LAS' }, data)]).volume;
    expect(las.origin).toEqual([ORIGIN[0], -ORIGIN[1], ORIGIN[2]]);
    const scanner = readNrrd([attached({ ...BASE, space: 'scanner-xyz' }, data)]);
    expect(scanner.volume.origin).toEqual(ORIGIN);
    expect(scanner.notes.join(' ')).toMatch(/no anatomical axes/);
  });

  it('uses spacings when there are no space directions', () => {
    const f: Record<string, string> = { ...BASE, spacings: '0.5 0.25 3' };
    delete f['space directions'];
    delete f['space origin'];
    delete f.space;
    const r = readNrrd([attached(f, encode(VALUES, 'int16', true))]);
    expect(r.volume.spacing).toEqual([0.5, 0.25, 3]);
    expect(r.volume.direction).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(r.volume.spacingKnown).toBe(true);
    expect(r.notes.join(' ')).toMatch(/without space directions/);
  });

  it('reads a 2-D image as dims [w, h, 1] with a unit normal', () => {
    const v2 = VALUES.slice(0, NX * NY);
    const r = readNrrd([
      attached(
        {
          type: 'uchar',
          dimension: '2',
          'space dimension': '2',
          sizes: `${NX} ${NY}`,
          'space directions': '(0.5,0) (0,0.25)',
          encoding: 'raw',
        },
        encode(
          v2.map((x) => x + 50),
          'uint8',
          true,
        ),
        'img.nrrd',
      ),
    ]);
    expect(r.volume.dims).toEqual([NX, NY, 1]);
    expect(r.volume.spacing).toEqual([0.5, 0.25, 1]);
    expect(r.volume.direction.slice(6)).toEqual([0, 0, 1]);
    expect(r.is8bit).toBe(true);
    expect([...r.volume.data]).toEqual(v2.map((x) => x + 50));
  });

  it('drops a leading non-spatial axis of size 1, refuses one of size 3, keeps the first of a trailing list', () => {
    const data = encode(VALUES, 'int16', true);
    const lead = readNrrd([
      attached(
        {
          ...BASE,
          dimension: '4',
          sizes: `1 ${NX} ${NY} ${NZ}`,
          kinds: 'scalar domain domain domain',
          'space directions': `none ${vec(DI)} ${vec(DJ)} ${vec(DK)}`,
        },
        data,
      ),
    ]).volume;
    expect(lead.dims).toEqual([NX, NY, NZ]);
    expect([...lead.data]).toEqual(VALUES);
    expect(voxelToWorld(lead, 3, 2, 1)[2]).toBeCloseTo(lps(3, 2, 1)[2], 9);
    expectCode(
      () =>
        readNrrd([
          attached(
            {
              ...BASE,
              dimension: '4',
              sizes: `3 ${NX} ${NY} ${NZ}`,
              kinds: 'RGB-color domain domain domain',
              'space directions': `none ${vec(DI)} ${vec(DJ)} ${vec(DK)}`,
            },
            encode([...VALUES, ...VALUES, ...VALUES], 'int16', true),
          ),
        ]),
      'unsupported-format',
      /3 components/,
    );
    const trail = readNrrd([
      attached(
        {
          ...BASE,
          dimension: '4',
          sizes: `${NX} ${NY} ${NZ} 2`,
          kinds: 'domain domain domain list',
          'space directions': `${vec(DI)} ${vec(DJ)} ${vec(DK)} none`,
        },
        encode([...VALUES, ...VALUES.map((x) => -x)], 'int16', true),
      ),
    ]);
    expect([...trail.volume.data]).toEqual(VALUES);
    expect(trail.notes.join(' ')).toMatch(/first of 2 volumes/);
  });
});

describe('NRRD encodings and types', () => {
  it('reads gzip, big-endian, ascii and detached data to the same volume', () => {
    const ref = [...reference().volume.data];
    const gz = readNrrd([attached({ ...BASE, encoding: 'gzip' }, gzipSync(encode(VALUES, 'int16', true)))]);
    expect([...gz.volume.data]).toEqual(ref);
    const be = readNrrd([attached({ ...BASE, endian: 'big' }, encode(VALUES, 'int16', false))]);
    expect([...be.volume.data]).toEqual(ref);
    expect(be.notes.join(' ')).toMatch(/Big-endian/);
    const ascii = readNrrd([
      attached({ ...BASE, encoding: 'ascii' }, new TextEncoder().encode(VALUES.join(' '))),
    ]);
    expect([...ascii.volume.data]).toEqual(ref);
    const nhdr = {
      name: 'study/vol.nhdr',
      bytes: new TextEncoder().encode(header({ ...BASE, 'data file': './vol.raw' })),
    };
    const det = readNrrd([nhdr, { name: 'study/vol.raw', bytes: encode(VALUES, 'int16', true) }]);
    expect([...det.volume.data]).toEqual(ref);
    expect(det.volume.origin).toEqual(reference().volume.origin);
  });

  it('honours line skip and byte skip (including -1: data at the end of the file)', () => {
    const junk = new TextEncoder().encode('line one\nline two\nXYZW');
    const data = encode(VALUES, 'int16', true);
    const both = new Uint8Array(junk.length + data.length);
    both.set(junk);
    both.set(data, junk.length);
    const skip = readNrrd([attached({ ...BASE, 'line skip': '2', 'byte skip': '4' }, both)]);
    expect([...skip.volume.data]).toEqual(VALUES);
    const end = readNrrd([attached({ ...BASE, 'byte skip': '-1' }, both)]);
    expect([...end.volume.data]).toEqual(VALUES);
  });

  it('reads every sample type with its own array type', () => {
    const cases: [string, SampleType, readonly number[], string][] = [
      ['uchar', 'uint8', VALUES.map((x) => x + 50), 'Uint8Array'],
      ['signed char', 'int8', VALUES.map((x) => Math.max(-128, Math.min(127, x))), 'Int8Array'],
      ['ushort', 'uint16', VALUES.map((x) => x + 60000 - 50), 'Uint16Array'],
      ['int', 'int32', VALUES.map((x) => x * 100000), 'Int32Array'],
      ['uint32', 'uint32', VALUES.map((x) => (x + 50) * 20000000), 'Uint32Array'],
      ['float', 'float32', VALUES.map((x) => x / 4), 'Float32Array'],
      ['double', 'float64', VALUES.map((x) => x / 8), 'Float32Array'],
    ];
    for (const [name, type, vals, ctor] of cases) {
      const r = readNrrd([attached({ ...BASE, type: name, endian: 'big' }, encode(vals, type, false))]);
      expect(r.volume.data.constructor.name, name).toBe(ctor);
      expect([...r.volume.data], name).toEqual(vals);
      if (type === 'float64') expect(r.notes.join(' ')).toMatch(/float32/);
    }
  });
});

describe('NRRD refusals', () => {
  it('recognises the magic', () => {
    expect(isNrrd(attached(BASE, new Uint8Array(0)).bytes)).toBe(true);
    expect(isNrrd(new TextEncoder().encode('NRRX0004\n'))).toBe(false);
    expectCode(
      () => readNrrd([{ name: 'a.txt', bytes: new TextEncoder().encode('hello') }]),
      'corrupt-file',
      /not an NRRD/,
    );
  });

  it('reports short raw or gzip data as truncated', () => {
    const data = encode(VALUES, 'int16', true);
    expectCode(
      () => readNrrd([attached(BASE, data.subarray(0, data.length - 1))]),
      'truncated-file',
      /declares 48 bytes/,
    );
    const gz = gzipSync(data);
    expectCode(
      () => readNrrd([attached({ ...BASE, encoding: 'gzip' }, gz.subarray(0, gz.length - 12))]),
      'truncated-file',
    );
    expectCode(
      () => readNrrd([attached({ ...BASE, encoding: 'gzip' }, gzipSync(data.subarray(0, 40)))]),
      'truncated-file',
    );
  });

  it('asks for the missing data file, and refuses unknown encodings and a missing endian', () => {
    const nhdr = {
      name: 'vol.nhdr',
      bytes: new TextEncoder().encode(header({ ...BASE, 'data file': 'vol.raw.gz' })),
    };
    expectCode(() => readNrrd([nhdr]), 'invalid-argument', /vol\.raw\.gz.*Select both files/);
    expectCode(
      () => readNrrd([attached({ ...BASE, encoding: 'bzip2' }, new Uint8Array(48))]),
      'unsupported-format',
      /bzip2/,
    );
    const noEndian: Record<string, string> = { ...BASE };
    delete noEndian.endian;
    const f = attached(noEndian, encode(VALUES, 'int16', true));
    expectCode(() => readNrrd([f]), 'corrupt-file', /endian/);
    const lenient = readNrrd([f], { lenient: true });
    expect([...lenient.volume.data]).toEqual(VALUES);
    expect(lenient.notes.join(' ')).toMatch(/read leniently/);
  });

  it('refuses a declared size over the budget before reading any data', () => {
    const huge = attached({ ...BASE, sizes: '100000 100000 1000' }, new Uint8Array(16));
    expectCode(() => readNrrd([huge]), 'size-budget');
    expectCode(
      () => readNrrd([attached(BASE, encode(VALUES, 'int16', true))], { budgetBytes: 10 }),
      'size-budget',
    );
  });
});

describe("3D Slicer's .seg.nrrd segment names", () => {
  it('names label values from SegmentN_Name / SegmentN_LabelValue, not from a guessed table', () => {
    // The header a Slicer 5 labelmap segmentation carries (slicer.readthedocs.io, .seg.nrrd format).
    const header = [
      'NRRD0004',
      'type: unsigned char',
      'dimension: 3',
      'space: left-posterior-superior',
      'sizes: 2 2 1',
      'space directions: (1,0,0) (0,1,0) (0,0,1)',
      'encoding: raw',
      'space origin: (0,0,0)',
      'Segment0_ID:=Segment_1',
      'Segment0_LabelValue:=1',
      'Segment0_Layer:=0',
      'Segment0_Name:=liver',
      'Segment1_ID:=Segment_2',
      'Segment1_LabelValue:=2',
      'Segment1_Layer:=0',
      'Segment1_Name:=spine',
      'Segmentation_MasterRepresentation:=Binary labelmap',
      '',
      '',
    ].join('\n');
    const bytes = new Uint8Array([...new TextEncoder().encode(header), 0, 1, 2, 2]);
    const r = readNrrd([{ name: 'Segmentation.seg.nrrd', bytes }]);
    expect([...(r.labelNames ?? [])]).toEqual([
      [1, 'liver'],
      [2, 'spine'],
    ]);
    expect([...r.volume.data]).toEqual([0, 1, 2, 2]);
  });

  it('a plain NRRD label map has no names of its own', () => {
    const header = 'NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 1 1\nencoding: raw\n\n';
    const r = readNrrd([
      { name: 'labels.nrrd', bytes: new Uint8Array([...new TextEncoder().encode(header), 1, 2]) },
    ]);
    expect(r.labelNames).toBeUndefined();
  });
});
