import dicomParser from 'dicom-parser';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { Vec3 } from '../image/types';
import { assertSameGrid, canonicalize, voxelToWorld, worldToVoxel } from '../image/volume';
import { isDicom, parseDicomFile, readDicomSeries, type FrameDecoder } from './dicom';
import {
  el,
  encodeDicomFile,
  formatDS,
  imageDataSet,
  seq,
  TS_DEFLATED_LE,
  TS_EXPLICIT_BE,
  TS_EXPLICIT_LE,
  TS_IMPLICIT_LE,
  type DicomDataSet,
  type EncodeOptions,
  type ImageDataSetParams,
} from '../testing/dicom';
import { readNifti } from './nifti';
import { writeNifti } from './nifti-write';
import { readDicomImage } from './read-any';
import type { InputFile } from './types';

const COLS = 5;
const ROWS = 3;
/** Stored value of pixel (column c, row r) of slice k. */
const stored = (k: number, r: number, c: number) => 100 * k + 10 * r + c;

const deg = Math.PI / 180;
// An oblique frame: rows run along R, columns along C (orthonormal by construction), N = R × C.
const R: Vec3 = [Math.cos(30 * deg), Math.sin(30 * deg), 0];
const C: Vec3 = [
  -Math.sin(30 * deg) * Math.cos(20 * deg),
  Math.cos(30 * deg) * Math.cos(20 * deg),
  Math.sin(20 * deg),
];
const N: Vec3 = [R[1] * C[2] - R[2] * C[1], R[2] * C[0] - R[0] * C[2], R[0] * C[1] - R[1] * C[0]];
const P0: Vec3 = [10, -20, 30];
const ROW_SP = 0.8; // between rows (along C)
const COL_SP = 0.5; // between columns (along R)
const SLICE_GAP = 2.5;

function ipp(k: number, gap = SLICE_GAP): [number, number, number] {
  return [P0[0] + k * gap * N[0], P0[1] + k * gap * N[1], P0[2] + k * gap * N[2]];
}

function moved(p: Vec3, d: Vec3, f: number): [number, number, number] {
  return [p[0] + f * d[0], p[1] + f * d[1], p[2] + f * d[2]];
}

function slicePixels(k: number): Int16Array {
  return Int16Array.from({ length: ROWS * COLS }, (_, p) => stored(k, Math.floor(p / COLS), p % COLS));
}

interface SliceOpts {
  readonly series?: string;
  readonly gap?: number;
  readonly slope?: number;
  readonly intercept?: number;
  readonly ts?: string;
  readonly encode?: EncodeOptions;
  readonly params?: Partial<ImageDataSetParams>;
}

function sliceDataSet(k: number, o: SliceOpts = {}): DicomDataSet {
  return imageDataSet({
    rows: ROWS,
    columns: COLS,
    pixels: slicePixels(k),
    bitsStored: 16,
    sopInstanceUid: `1.2.3.${o.series ?? '1'}.${k + 1}`,
    seriesInstanceUid: `1.2.3.${o.series ?? '1'}`,
    studyInstanceUid: '1.2.3',
    frameOfReference: '1.2.3.9',
    seriesDescription: `series ${o.series ?? '1'}`,
    instanceNumber: k + 1,
    ipp: ipp(k, o.gap),
    iop: [...R, ...C],
    pixelSpacing: [ROW_SP, COL_SP],
    sliceThickness: 3,
    slope: o.slope ?? 2,
    intercept: o.intercept ?? -1024,
    ...o.params,
  });
}

function sliceFile(k: number, o: SliceOpts = {}): InputFile {
  return {
    name: `s${o.series ?? '1'}-${k}.dcm`,
    bytes: encodeDicomFile(sliceDataSet(k, o), { transferSyntax: o.ts ?? TS_EXPLICIT_LE, ...o.encode }),
  };
}

/** Four slices, given in shuffled order. */
function series(o: SliceOpts = {}): InputFile[] {
  return [2, 0, 3, 1].map((k) => sliceFile(k, o));
}

async function one(files: readonly InputFile[], opts: Parameters<typeof readDicomSeries>[1] = {}) {
  const { series: s, errors } = await readDicomSeries(files, opts);
  expect(errors).toEqual([]);
  expect(s).toHaveLength(1);
  const first = s[0];
  if (!first) throw new Error('no series');
  return first;
}

function expectAppError(fn: () => unknown, code: string, text?: RegExp): void {
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

describe('DICOM series geometry', () => {
  it('sorts shuffled slices along the normal and places every voxel where IPP + i·Δc·row + j·Δr·col puts it', async () => {
    const s = await one(series());
    const v = s.result.volume;
    expect(v.dims).toEqual([COLS, ROWS, 4]);
    expect(v.spacing[0]).toBeCloseTo(COL_SP, 9);
    expect(v.spacing[1]).toBeCloseTo(ROW_SP, 9);
    // Slice spacing comes from the positions (2.5 mm), not from SliceThickness (3 mm).
    expect(v.spacing[2]).toBeCloseTo(SLICE_GAP, 6);
    expect(v.spacingKnown).toBe(true);
    expect(v.modality).toBe('CT');
    expect(v.frameOfReference).toBe('1.2.3.9');
    expect(s.seriesUid).toBe('1.2.3.1');
    expect(s.sopInstanceUids).toEqual(['1.2.3.1.1', '1.2.3.1.2', '1.2.3.1.3', '1.2.3.1.4']);
    expect(s.files).toEqual(['s1-0.dcm', 's1-1.dcm', 's1-2.dcm', 's1-3.dcm']);
    for (const [i, j, k] of [
      [0, 0, 0],
      [4, 0, 0],
      [0, 2, 0],
      [4, 2, 3],
      [2, 1, 2],
    ] as const) {
      const w = voxelToWorld(v, i, j, k);
      const p = ipp(k);
      const expected = [0, 1, 2].map(
        (a) => (p[a] ?? 0) + i * COL_SP * (R[a] ?? 0) + j * ROW_SP * (C[a] ?? 0),
      );
      w.forEach((x, a) => expect(x).toBeCloseTo(expected[a] ?? NaN, 6));
      // Values: slice k in position order holds stored(k, j, i) × 2 − 1024.
      expect(v.data[i + j * COLS + k * COLS * ROWS]).toBe(stored(k, j, i) * 2 - 1024);
    }
    expect(v.data).toBeInstanceOf(Int16Array);
    expect(s.result.notes.join(' ')).toMatch(/slope 2 and intercept -1024/);
  });

  it('geometry survives a NIfTI round trip (world positions of the corners agree)', async () => {
    const v = (await one(series())).result.volume;
    const nii = readNifti({ name: 'x.nii', bytes: writeNifti(v, 'int16') }).volume;
    for (const [i, j, k] of [
      [0, 0, 0],
      [4, 2, 3],
      [4, 0, 3],
    ] as const) {
      const a = voxelToWorld(v, i, j, k);
      const b = voxelToWorld(nii, i, j, k);
      a.forEach((x, n) => expect(b[n]).toBeCloseTo(x, 3));
    }
    expect([...nii.data]).toEqual([...v.data]);
  });

  it('reads the same volume from implicit VR, big-endian and deflated files', async () => {
    const ref = (await one(series())).result.volume.data;
    for (const ts of [TS_IMPLICIT_LE, TS_EXPLICIT_BE, TS_DEFLATED_LE]) {
      const s = await one(series({ ts }));
      expect([...s.result.volume.data]).toEqual([...ref]);
      if (ts === TS_EXPLICIT_BE) expect(s.result.notes.join(' ')).toMatch(/Big-endian/);
      if (ts === TS_DEFLATED_LE) expect(s.result.notes.join(' ')).toMatch(/inflated/);
    }
  });

  it('keeps integral rescales in int16 and moves to float32 for a fractional slope or out-of-range values', async () => {
    const half = await one(series({ slope: 0.5, intercept: -10 }));
    expect(half.result.volume.data).toBeInstanceOf(Float32Array);
    expect(half.result.volume.data[1 + 2 * COLS + 3 * COLS * ROWS]).toBe(stored(3, 2, 1) * 0.5 - 10);
    const big = await one(series({ slope: 200, intercept: 0 }));
    expect(big.result.volume.data).toBeInstanceOf(Float32Array);
    expect(big.result.volume.data[4 + 2 * COLS + 3 * COLS * ROWS]).toBe(stored(3, 2, 4) * 200);
    const plain = await one(series({ slope: 1, intercept: 0 }));
    expect(plain.result.volume.data).toBeInstanceOf(Int16Array);
    expect(plain.result.notes.join(' ')).not.toMatch(/rescaled/);
  });

  it('masks bits above BitsStored and sign-extends 12-bit signed values', async () => {
    // −5 in 12-bit two's complement is 0xFFB; 0x8000 is an overlay bit above BitsStored.
    const px = new Uint16Array(ROWS * COLS).fill(0x8ffb);
    px[1] = 0x0005;
    const ds = imageDataSet({
      rows: ROWS,
      columns: COLS,
      pixels: new Int16Array(px.buffer),
      bitsStored: 12,
      sopInstanceUid: '1.9.1',
      seriesInstanceUid: '1.9',
      studyInstanceUid: '1',
      slope: 1,
      intercept: 0,
    });
    const s = await one([{ name: 'b12.dcm', bytes: encodeDicomFile(ds) }]);
    expect(s.result.volume.data[0]).toBe(-5);
    expect(s.result.volume.data[1]).toBe(5);
  });

  it('keeps 8-bit unsigned images as uint8 and reads 32-bit signed samples', async () => {
    const u8 = Uint8Array.from({ length: ROWS * COLS }, (_, i) => 250 - i);
    const s8 = await one([
      {
        name: 'u8.dcm',
        bytes: encodeDicomFile(
          imageDataSet({
            rows: ROWS,
            columns: COLS,
            pixels: u8,
            sopInstanceUid: '1.8.1',
            seriesInstanceUid: '1.8',
            studyInstanceUid: '1',
            modality: 'US',
          }),
        ),
      },
    ]);
    expect(s8.result.volume.data).toBeInstanceOf(Uint8Array);
    expect(s8.result.is8bit).toBe(true);
    expect([...s8.result.volume.data]).toEqual([...u8]);
    expect(s8.result.modality).toBe('US');
    expect(s8.result.volume.spacingKnown).toBe(false);

    const i32 = Int32Array.from({ length: ROWS * COLS }, (_, i) => (i - 7) * 1000);
    const s32 = await one([
      {
        name: 'i32.dcm',
        bytes: encodeDicomFile(
          imageDataSet({
            rows: ROWS,
            columns: COLS,
            pixels: i32,
            sopInstanceUid: '1.7.1',
            seriesInstanceUid: '1.7',
            studyInstanceUid: '1',
            modality: 'MR',
          }),
        ),
      },
    ]);
    expect([...s32.result.volume.data]).toEqual([...i32]);
    expect(s32.result.modality).toBe('MR');
  });

  it('reads RGB pixels (interleaved and planar) into rgb, with luma in the volume', async () => {
    const n = ROWS * COLS;
    const rgb = Uint8Array.from({ length: 3 * n }, (_, i) => (i * 37) % 256);
    const planar = new Uint8Array(3 * n);
    for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) planar[c * n + p] = rgb[3 * p + c] ?? 0;
    const make = (pixels: Uint8Array, planarConfiguration: 0 | 1) => ({
      name: `rgb${planarConfiguration}.dcm`,
      bytes: encodeDicomFile(
        imageDataSet({
          rows: ROWS,
          columns: COLS,
          pixels,
          samplesPerPixel: 3,
          planarConfiguration,
          sopInstanceUid: `1.6.${planarConfiguration}`,
          seriesInstanceUid: `1.6.${planarConfiguration}`,
          studyInstanceUid: '1',
          modality: 'US',
        }),
      ),
    });
    for (const s of [await one([make(rgb, 0)]), await one([make(planar, 1)])]) {
      expect([...(s.result.rgb ?? [])]).toEqual([...rgb]);
      const luma = Math.round(0.299 * (rgb[3] ?? 0) + 0.587 * (rgb[4] ?? 0) + 0.114 * (rgb[5] ?? 0));
      expect(s.result.volume.data[1]).toBe(luma);
      expect(s.result.volume.dims).toEqual([COLS, ROWS, 1]);
    }
  });

  it('stacks an enhanced multi-frame object by its per-frame positions', async () => {
    // Frames written in reverse position order: frame f sits at slice 2 − f.
    const frames = [2, 1, 0].map((k) => ({ ipp: ipp(k) }));
    const pixels = Int16Array.from({ length: 3 * ROWS * COLS }, (_, x) => {
      const f = Math.floor(x / (ROWS * COLS));
      const p = x % (ROWS * COLS);
      return stored(2 - f, Math.floor(p / COLS), p % COLS);
    });
    const ds = imageDataSet({
      rows: ROWS,
      columns: COLS,
      pixels,
      frames,
      iop: [...R, ...C],
      pixelSpacing: [ROW_SP, COL_SP],
      slope: 1,
      intercept: -1000,
      sopInstanceUid: '1.5.1',
      seriesInstanceUid: '1.5',
      studyInstanceUid: '1',
      frameOfReference: '1.5.9',
    });
    for (const undefinedLengthSequences of [false, true]) {
      const s = await one([{ name: 'mf.dcm', bytes: encodeDicomFile(ds, { undefinedLengthSequences }) }]);
      const v = s.result.volume;
      expect(v.dims).toEqual([COLS, ROWS, 3]);
      expect(v.spacing[2]).toBeCloseTo(SLICE_GAP, 6);
      voxelToWorld(v, 0, 0, 0).forEach((x, a) => expect(x).toBeCloseTo(P0[a] ?? NaN, 6));
      expect(v.data[3 + 1 * COLS + 2 * COLS * ROWS]).toBe(stored(2, 1, 3) - 1000);
      expect(v.data[3 + 1 * COLS]).toBe(stored(0, 1, 3) - 1000);
    }
  });

  it('takes the pixel size of an image without PixelSpacing from its ultrasound region calibration', async () => {
    const region: DicomDataSet = [
      el(0x00186024, 'US', [3]),
      el(0x00186026, 'US', [3]),
      el(0x0018602c, 'FD', [0.02]),
      el(0x0018602e, 'FD', [0.03]),
    ];
    const ds = imageDataSet({
      rows: ROWS,
      columns: COLS,
      pixels: new Uint8Array(ROWS * COLS),
      sopInstanceUid: '1.4.1',
      seriesInstanceUid: '1.4',
      studyInstanceUid: '1',
      modality: 'US',
      extra: [seq(0x00186011, [region])],
    });
    const v = (await one([{ name: 'us.dcm', bytes: encodeDicomFile(ds) }])).result.volume;
    // PhysicalDelta X/Y are in cm: 0.02 cm = 0.2 mm between columns, 0.3 mm between rows.
    expect(v.spacing[0]).toBeCloseTo(0.2, 9);
    expect(v.spacing[1]).toBeCloseTo(0.3, 9);
    expect(v.spacingKnown).toBe(true);
  });
});

describe('DICOM series grouping and refusals', () => {
  it('groups by SeriesInstanceUID and reports junk and non-image objects without losing the rest', async () => {
    const seg = encodeDicomFile([
      el(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.66.4'),
      el(0x00080018, 'UI', '1.3.1'),
      el(0x00080060, 'CS', 'SEG'),
    ]);
    const rt = encodeDicomFile([
      el(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.481.3'),
      el(0x00080018, 'UI', '1.3.2'),
    ]);
    const dir = encodeDicomFile([el(0x00041130, 'CS', 'X'), seq(0x00041220, [])], {
      mediaStorageSopClassUid: '1.2.840.10008.1.3.10',
      mediaStorageSopInstanceUid: '1.3.3',
    });
    const files: InputFile[] = [
      ...series({ series: '1' }),
      { name: 'notes.txt', bytes: new TextEncoder().encode('hello, not an image') },
      { name: 'seg.dcm', bytes: seg },
      { name: 'rt.dcm', bytes: rt },
      { name: 'DICOMDIR', bytes: dir },
      ...[0, 1, 2].map((k) => sliceFile(k, { series: '2', slope: 1, intercept: 0 })),
    ];
    const { series: s, errors } = await readDicomSeries(files);
    expect(s.map((x) => x.seriesUid)).toEqual(['1.2.3.1', '1.2.3.2']);
    expect(s.map((x) => x.result.volume.dims[2])).toEqual([4, 3]);
    const by = new Map(errors.map((e) => [e.name, e]));
    expect(by.get('notes.txt')?.message).toMatch(/not a DICOM file.*DICM/);
    expect(by.get('notes.txt')?.code).toBe('corrupt-file');
    expect(by.get('seg.dcm')?.message).toMatch(/Segmentation \(SEG\)/);
    expect(by.get('rt.dcm')?.message).toMatch(/RT Structure Set/);
    expect(by.get('DICOMDIR')?.message).toMatch(/DICOMDIR/);
    expect(errors).toHaveLength(4);
  });

  it('refuses uneven spacing, stacked duplicates, mixed orientation and mixed sizes per series', async () => {
    const cases: [string, InputFile[], RegExp][] = [
      ['a missing slice', [0, 1, 3].map((k) => sliceFile(k)), /not evenly spaced/],
      [
        'two phases at the same positions',
        [...series(), ...series().map((f) => ({ ...f, name: `b${f.name}` }))],
        /same position/,
      ],
      [
        'mixed orientation',
        [sliceFile(0), sliceFile(1), sliceFile(2, { params: { iop: [1, 0, 0, 0, 1, 0] } })],
        /different orientations/,
      ],
      ['mixed sizes', [sliceFile(0), sliceFile(1, { params: { rows: 1, columns: 15 } })], /different sizes/],
    ];
    for (const [, files, why] of cases) {
      const { series: s, errors } = await readDicomSeries([...files, ...series({ series: 'ok' })]);
      expect(s.map((x) => x.seriesUid)).toEqual(['1.2.3.ok']);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.message).toMatch(why);
      expect(errors[0]?.name).toMatch(/^Series "series 1"/);
    }
  });

  it('accepts slice gaps within 1 % and refuses a sheared (tilted) stack', async () => {
    const jitter = [0, 1, 2, 3].map((k) =>
      sliceFile(k, {
        params: { ipp: moved(ipp(k), N, k === 2 ? 0.004 : 0) },
      }),
    );
    expect((await one(jitter)).result.volume.dims[2]).toBe(4);
    const sheared = [0, 1, 2, 3].map((k) => sliceFile(k, { params: { ipp: moved(ipp(k), R, k * 0.5) } }));
    const { series: s, errors } = await readDicomSeries(sheared);
    expect(s).toHaveLength(0);
    expect(errors[0]?.code).toBe('unsupported-format');
    expect(errors[0]?.message).toMatch(/sheared/);
  });

  it('refuses a series whose declared pixels exceed the budget, before decoding', async () => {
    const { series: s, errors } = await readDicomSeries(series(), { budgetBytes: 100 });
    expect(s).toHaveLength(0);
    expect(errors.every((e) => e.code === 'size-budget')).toBe(true);
  });
});

describe('DICOM patient data', () => {
  it('reads no patient, physician or institution value into what the app keeps (so no export can carry one)', async () => {
    const identifying = ['Doe^Jane', 'PID-12345', '19700101', 'Ref^Doctor', 'General Hospital', 'ACC-777'];
    const files = series({
      params: {
        extra: [
          el(0x00080050, 'SH', 'ACC-777'),
          el(0x00080080, 'LO', 'General Hospital'),
          el(0x00080090, 'PN', 'Ref^Doctor'),
          el(0x00100010, 'PN', 'Doe^Jane'),
          el(0x00100020, 'LO', 'PID-12345'),
          el(0x00100030, 'DA', '19700101'),
        ],
      },
    });
    // The tags are really in the files.
    expect(new TextDecoder('latin1').decode(files[0]?.bytes)).toContain('Doe^Jane');
    const { result } = await readDicomImage(files);
    const kept = JSON.stringify(result, (_k, v: unknown) => (ArrayBuffer.isView(v) ? '[pixels]' : v));
    expect(kept).toContain('1.2.3.1'); // the series UID is kept, for DICOM SEG references
    for (const value of identifying) expect(kept).not.toContain(value);
  });
});

describe('DICOM pixel size', () => {
  it('treats a PixelSpacing that overflows to Infinity as unknown (regression found by fuzzing)', async () => {
    const s = await one(series({ params: { extra: [el(0x00280030, 'DS', '1e400\\1e400')] } }));
    for (const v of s.result.volume.spacing) expect(Number.isFinite(v) && v > 0).toBe(true);
    expect(s.result.volume.spacingKnown).toBe(false);
  });
});

describe('DICOM strictness', () => {
  const good = () => sliceFile(0).bytes;

  it('recognises the Part-10 marker', () => {
    expect(isDicom(good())).toBe(true);
    expect(isDicom(good().subarray(132))).toBe(false);
    expect(isDicom(new Uint8Array(10))).toBe(false);
  });

  it('refuses a file without preamble unless lenient, which reads it and says so', async () => {
    const bare = encodeDicomFile(sliceDataSet(0), { preamble: false, groupLength: false });
    const raw = { name: 'raw.dcm', bytes: bare.subarray(metaEnd(bare)) };
    expectAppError(() => parseDicomFile(raw), 'corrupt-file', /DICM/);
    const s = await one([raw], { lenient: true });
    expect(s.result.notes.join(' ')).toMatch(/read leniently/);
    expect(s.result.volume.data[4 + 2 * COLS]).toBe(stored(0, 2, 4) * 2 - 1024);
    // Implicit VR raw data sets are recognised too.
    const imp = encodeDicomFile(sliceDataSet(0), {
      transferSyntax: TS_IMPLICIT_LE,
      preamble: false,
      groupLength: false,
    });
    const s2 = await one([{ name: 'imp.dcm', bytes: imp.subarray(metaEnd(imp)) }], { lenient: true });
    expect([...s2.result.volume.data]).toEqual([...s.result.volume.data]);
  });

  it('refuses a missing or wrong meta group length unless lenient', async () => {
    for (const groupLength of [false, 7, 4000] as const) {
      const f = {
        name: `gl-${String(groupLength)}.dcm`,
        bytes: encodeDicomFile(sliceDataSet(0), { groupLength }),
      };
      expectAppError(() => parseDicomFile(f), 'corrupt-file', /meta group length/);
      if (groupLength === false) {
        const s = await one([f], { lenient: true });
        expect(s.result.notes.join(' ')).toMatch(/read leniently.*group length/);
      }
    }
  });

  it('refuses an element whose length breaks its VR unless lenient', async () => {
    const odd = [...sliceDataSet(0), el(0x00081030, 'LO', { raw: new TextEncoder().encode('abc') })];
    const f = { name: 'odd.dcm', bytes: encodeDicomFile(odd) };
    expectAppError(() => parseDicomFile(f), 'corrupt-file', /\(0008,1030\).*odd length 3/);
    const fdBad = [...sliceDataSet(0), el(0x00189306, 'FD', { raw: new Uint8Array(12) })];
    expectAppError(
      () => parseDicomFile({ name: 'fd.dcm', bytes: encodeDicomFile(fdBad) }),
      'corrupt-file',
      /\(0018,9306\) \(VR FD\) has length 12, not a multiple of 8/,
    );
    const fdTwo = [...sliceDataSet(0), el(0x00189306, 'FD', { raw: new Uint8Array(16) })];
    expect(() => parseDicomFile({ name: 'ok.dcm', bytes: encodeDicomFile(fdTwo) })).not.toThrow();
    const s = await one([f], { lenient: true });
    expect(s.result.notes.join(' ')).toMatch(/read leniently/);
  });

  it('gives truncated-file, never a volume, for a cut at any byte of a single-frame or multi-frame file', async () => {
    const multi = imageDataSet({
      rows: 2,
      columns: 2,
      pixels: Int16Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
      frames: [{ ipp: [0, 0, 0] }, { ipp: [0, 0, 1] }],
      iop: [1, 0, 0, 0, 1, 0],
      pixelSpacing: [1, 1],
      sopInstanceUid: '1.1',
      seriesInstanceUid: '1',
      studyInstanceUid: '1',
    });
    const variants = [
      encodeDicomFile(sliceDataSet(0)),
      encodeDicomFile(sliceDataSet(0), { transferSyntax: TS_IMPLICIT_LE }),
      encodeDicomFile(sliceDataSet(0), { transferSyntax: TS_EXPLICIT_BE }),
      encodeDicomFile(sliceDataSet(0), { transferSyntax: TS_DEFLATED_LE }),
      encodeDicomFile(multi),
      encodeDicomFile(multi, { undefinedLengthSequences: true }),
    ];
    for (const whole of variants) {
      expect((await readDicomSeries([{ name: 'whole.dcm', bytes: whole }])).series).toHaveLength(1);
      for (let cut = 132; cut < whole.length; cut++) {
        const { series: s, errors } = await readDicomSeries([
          { name: 'cut.dcm', bytes: whole.subarray(0, cut) },
        ]);
        expect(s, `cut at ${cut} of ${whole.length}`).toHaveLength(0);
        expect(errors[0]?.code, `cut at ${cut}: ${errors[0]?.message ?? ''}`).toBe('truncated-file');
      }
    }
  });
});

/** Offset of the first data set element of a file written without preamble and group length. */
function metaEnd(b: Uint8Array): number {
  let pos = 0;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  while (dv.getUint16(pos, true) === 0x0002) {
    const vr = String.fromCharCode(b[pos + 4] ?? 0, b[pos + 5] ?? 0);
    pos += vr === 'OB' ? 12 + dv.getUint32(pos + 8, true) : 8 + dv.getUint16(pos + 6, true);
  }
  return pos;
}

describe('DICOM compressed transfer syntaxes', () => {
  const JPEG = '1.2.840.10008.1.2.4.50';
  /** A multi-frame object whose 'compressed' fragments are just the little-endian frame bytes. */
  function encapsulated(ts: string): InputFile {
    const frames = [0, 1, 2].map((k) => slicePixels(k));
    const ds = imageDataSet({
      rows: ROWS,
      columns: COLS,
      pixels: new Int16Array(0),
      frames: [0, 1, 2].map((k) => ({ ipp: ipp(k) })),
      iop: [...R, ...C],
      pixelSpacing: [ROW_SP, COL_SP],
      sopInstanceUid: '1.3.1',
      seriesInstanceUid: '1.3',
      studyInstanceUid: '1',
      extra: [
        el(0x00280100, 'US', [16]),
        el(0x00280101, 'US', [16]),
        el(0x00280103, 'US', [1]),
        el(0x7fe00010, 'OB', { fragments: frames.map((f) => new Uint8Array(f.buffer)) }),
      ],
    });
    return { name: 'enc.dcm', bytes: encodeDicomFile(ds, { transferSyntax: ts }) };
  }

  it('without a decoder names the transfer syntax; with one, decodes every frame it is given', async () => {
    const f = encapsulated(JPEG);
    const none = await readDicomSeries([f]);
    expect(none.series).toHaveLength(0);
    expect(none.errors[0]?.code).toBe('unsupported-format');
    expect(none.errors[0]?.message).toMatch(/JPEG Baseline \(1\.2\.840\.10008\.1\.2\.4\.50\)/);

    const calls: { ts: string; length: number; info: unknown }[] = [];
    const decoder: FrameDecoder = (ts, encoded, info) => {
      calls.push({ ts, length: encoded.length, info });
      const copy = encoded.slice();
      return Promise.resolve(new Int16Array(copy.buffer, 0, copy.length / 2));
    };
    const s = await one([f], { decoder });
    expect(calls).toHaveLength(3);
    expect(calls[0]).toEqual({
      ts: JPEG,
      length: ROWS * COLS * 2,
      info: { rows: ROWS, columns: COLS, bitsAllocated: 16, pixelRepresentation: 1, samplesPerPixel: 1 },
    });
    const v = s.result.volume;
    expect(v.data[2 + 1 * COLS + 2 * ROWS * COLS]).toBe(stored(2, 1, 2));
  });

  it('reads encapsulated uncompressed data without a decoder and reports a decoder returning the wrong size', async () => {
    const s = await one([encapsulated('1.2.840.10008.1.2.1.98')]);
    expect(s.result.volume.data[4 + 2 * COLS + 1 * ROWS * COLS]).toBe(stored(1, 2, 4));
    const bad: FrameDecoder = () => Promise.resolve(new Int16Array(3));
    const r = await readDicomSeries([encapsulated(JPEG)], { decoder: bad });
    expect(r.errors[0]?.message).toMatch(/decoded to 3 samples/);
  });
});

describe('TotalSegmentator CT DICOM series (JPEG 2000, 20 slices)', () => {
  const dir = join(process.cwd(), 'test-data/totalsegmentator-testref/ct_dicom');
  const files: InputFile[] = readdirSync(join(dir, 'example_ct_dicom')).map((n) => ({
    name: n,
    bytes: new Uint8Array(readFileSync(join(dir, 'example_ct_dicom', n))),
  }));

  it('names the transfer syntax when no decoder is available', async () => {
    const { series: s, errors } = await readDicomSeries(files);
    expect(s).toHaveLength(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/JPEG 2000 Lossless \(1\.2\.840\.10008\.1\.2\.4\.90\)/);
  });

  it('builds the grid of the reference NIfTI segmentation, slices 2 mm apart in IPP order', async () => {
    // Independent of the reader: each file's z position and the length of its one JPEG 2000 fragment.
    const meta = files.map((f) => {
      const ds = dicomParser.parseDicom(f.bytes);
      const z = Number((ds.string('x00200032') ?? '').split('\\')[2]);
      return { z, len: ds.elements.x7fe00010?.fragments?.[0]?.length ?? -1 };
    });
    meta.sort((a, b) => a.z - b.z);
    const decoder: FrameDecoder = (ts, encoded, info) => {
      expect(ts).toBe('1.2.840.10008.1.2.4.90');
      expect(info).toEqual({
        rows: 512,
        columns: 512,
        bitsAllocated: 16,
        pixelRepresentation: 0,
        samplesPerPixel: 1,
      });
      // A stand-in decoder: every pixel holds the frame's encoded length, so the slice order is visible.
      return Promise.resolve(new Uint16Array(512 * 512).fill(encoded.length % 30000));
    };
    const s = await one(files, { decoder });
    const v = s.result.volume;
    expect(v.dims).toEqual([512, 512, 20]);
    expect(v.spacing[0]).toBeCloseTo(0.9765625, 9);
    expect(v.spacing[2]).toBeCloseTo(2, 9);
    meta.forEach((m, k) => {
      expect(voxelToWorld(v, 0, 0, k)[2]).toBeCloseTo(m.z, 6);
      expect(v.data[k * 512 * 512 + 1000]).toBe((m.len % 30000) - 1024);
    });
    expect(meta[0]?.z).toBe(-804.5);
    expect(meta[19]?.z).toBe(-766.5);
    expect(v.modality).toBe('CT');

    const seg = readNifti({
      name: 'example_seg_dicom.nii.gz',
      bytes: new Uint8Array(readFileSync(join(dir, 'example_seg_dicom.nii.gz'))),
    }).volume;
    assertSameGrid(canonicalize(v), canonicalize(seg));
    // SOURCE.md: the middle DICOM slice maps onto seg z-index 10 exactly through world coordinates.
    const q = worldToVoxel(seg, voxelToWorld(v, 100, 200, 10));
    expect(q[2]).toBeCloseTo(10, 6);
    expect(q[0]).toBeCloseTo(100, 6);
    expect(q[1]).toBeCloseTo(511 - 200, 6);
  });
});

describe('formatDS', () => {
  it('fits any value in 16 characters and keeps it to the precision that allows', () => {
    for (const x of [0.8660254037844387, -249.51171875, 1e-20, -0.3420201433256687, 123456789.123456]) {
      const s = formatDS(x);
      expect(s.length).toBeLessThanOrEqual(16);
      expect(Math.abs(Number(s) - x)).toBeLessThan(1e-12 * Math.max(1, Math.abs(x)) + 1e-12);
    }
  });
});
