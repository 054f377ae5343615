/**
 * Property-based fuzzing of every reader (and the ONNX model header reader), the layout detector and the prompt generators (checklist item 8):
 * whatever the input, a call returns a well-formed result or throws an AppError, never another error type,
 * and never takes long. Inputs are valid files damaged by byte flips, truncation, spliced random bytes and
 * random header values. A fixed seed makes a failure reproducible; FUZZ_RUNS raises the case count.
 */
import fc from 'fast-check';
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { gzipSync, zlibSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { detectLayout, type CasePlan, type DatasetFile, type DatasetPlan } from '../../batch/layouts';
import { fixturePair } from '../../../tools/fixtures/sam-fixtures';
import { AppError } from '../errors';
import { readOnnxHeader } from '../models/onnx-header';
import type { Mask, Volume } from '../image/types';
import {
  centreClick,
  centroidClick,
  errorRegionClick,
  jitteredBox,
  negativeClicks,
  randomPositives,
} from '../prompts/generators';
import { planPrompts, type ProtocolSettings, type StrategyId } from '../prompts/protocol';
import { rngFromKey } from '../prompts/rng';
import { writeDicomSeg } from './dicom';
import {
  el,
  encodeDicomFile,
  imageDataSet,
  type DicomElementSpec,
  TS_DEFLATED_LE,
  TS_EXPLICIT_BE,
  TS_EXPLICIT_LE,
  TS_IMPLICIT_LE,
} from '../testing/dicom';
import { readSingleFile } from './index';
import { readMetaImage } from './metaimage';
import { readNifti } from './nifti';
import { writeNifti } from './nifti-write';
import { readNrrd } from './nrrd';
import { readJpeg, readPng } from './raster';
import { readImageFiles, readSegOnGrid } from './read-any';
import type { InputFile, ReadOptions, ReadResult } from './types';

const RUNS = Math.max(1, Number(process.env['FUZZ_RUNS'] ?? 40));
const SEED = Number(process.env['FUZZ_SEED'] ?? 20240804);
/** A generous bound per call: it catches hangs and runaway loops, not slowness. */
const PER_CALL_MS = 2000;
/** Each property's time limit grows with the run count (the DICOM series runs are the slowest). */
const TIMEOUT = 30_000 + RUNS * 150;
const OPTS: ReadOptions = { budgetBytes: 16 * 1024 * 1024 };
const params = <T>(extra: fc.Parameters<T> = {}): fc.Parameters<T> => ({
  seed: SEED,
  numRuns: RUNS,
  endOnFailure: true,
  ...extra,
});

// ---------------------------------------------------------------------------------------------------------
// Outcome bookkeeping

interface Tally {
  ok: number;
  rejected: number;
}
const tally = (): Tally => ({ ok: 0, rejected: 0 });

function describeThrown(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}\n${e.stack ?? ''}`;
  return `${typeof e}: ${String(e)}`;
}

/**
 * Runs one call: returns its result, or null when it threw an AppError. Anything else thrown, or a call
 * slower than PER_CALL_MS, fails the property.
 */
async function attempt<T>(t: Tally, fn: () => T | Promise<T>): Promise<T | null> {
  const t0 = performance.now();
  let value: T | null = null;
  try {
    value = await fn();
    t.ok++;
  } catch (e) {
    if (!(e instanceof AppError)) throw new Error(`untyped error: ${describeThrown(e)}`, { cause: e });
    expect(e.message.length).toBeGreaterThan(0);
    t.rejected++;
  }
  const ms = performance.now() - t0;
  if (ms > PER_CALL_MS) throw new Error(`a call took ${Math.round(ms)} ms`);
  return value;
}

/** Both outcomes must occur, or the mutations are vacuous (all rejected) or toothless (all accepted). */
function expectBoth(t: Tally, what: string): void {
  expect(t.ok, `${what}: no input was read`).toBeGreaterThan(0);
  expect(t.rejected, `${what}: no input was refused`).toBeGreaterThan(0);
}

/** A well-formed volume: positive integer dims, as many values as voxels, finite geometry. */
function expectWellFormed(r: ReadResult, what: string): void {
  const v: Volume = r.volume;
  const [nx, ny, nz] = v.dims;
  for (const d of v.dims)
    expect(Number.isInteger(d) && d >= 1, `${what}: dims ${v.dims.join('×')}`).toBe(true);
  expect(v.data.length, `${what}: data length for ${v.dims.join('×')}`).toBe(nx * ny * nz);
  for (const s of v.spacing)
    expect(Number.isFinite(s) && s > 0, `${what}: spacing ${v.spacing.join(', ')}`).toBe(true);
  for (const x of [...v.origin, ...v.direction])
    expect(
      Number.isFinite(x),
      `${what}: origin ${v.origin.join(', ')} / direction ${v.direction.join(', ')}`,
    ).toBe(true);
  if (r.rgb) expect(r.rgb.length, `${what}: rgb length`).toBe(3 * nx * ny * nz);
}

// ---------------------------------------------------------------------------------------------------------
// Mutations

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly xor: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'splice'; readonly at: number; readonly remove: number; readonly insert: Uint8Array };

/** Positions: half the time in the first 600 bytes (where headers live), else anywhere. */
const position = fc.oneof(fc.nat({ max: 600 }), fc.nat({ max: 1 << 20 }));

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: position,
    value: fc.constantFrom(0, 0xff, 0x7f, 0x80, 0x01),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: position,
    remove: fc.nat({ max: 16 }),
    insert: fc.uint8Array({ maxLength: 24 }),
  }),
);
/** Zero to four mutations: zero leaves the file valid, so that some cases are read. */
const mutationsArb = fc.array(mutationArb, { maxLength: 4 });

function mutate(base: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = base.slice();
  for (const m of muts) {
    if (m.kind === 'truncate') {
      b = b.slice(0, m.at % (b.length + 1));
    } else if (m.kind === 'splice') {
      const at = m.at % (b.length + 1);
      const out = new Uint8Array(b.length - Math.min(m.remove, b.length - at) + m.insert.length);
      out.set(b.subarray(0, at), 0);
      out.set(m.insert, at);
      out.set(b.subarray(Math.min(b.length, at + m.remove)), at + m.insert.length);
      b = out;
    } else if (b.length > 0) {
      const at = m.at % b.length;
      b[at] = m.kind === 'flip' ? (b[at] ?? 0) ^ m.xor : m.value;
    }
  }
  return b;
}

const text = (s: string) => new TextEncoder().encode(s);
function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Numbers written into header fields: ordinary, edge and hostile values. */
const headerNumber = fc.oneof(
  fc.integer({ min: -4, max: 40 }),
  fc.constantFrom(0, -1, 1, 32767, -32768, 65535, 2 ** 31 - 1, 1e9, 1e30),
  fc.double(),
);
const smallFloat = fc.oneof(fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.double());

// ---------------------------------------------------------------------------------------------------------
// NIfTI

const DIMS = [5, 4, 3] as const;
const VOXELS = DIMS[0] * DIMS[1] * DIMS[2];
const baseVolume = (data: Int16Array) => ({
  dims: DIMS,
  spacing: [0.8, 0.9, 2.5] as const,
  origin: [-10, 20, 5] as const,
  direction: [0, 1, 0, -1, 0, 0, 0, 0, 1] as const,
  data,
});
const NIFTI = writeNifti(baseVolume(Int16Array.from({ length: VOXELS }, (_, i) => i * 7 - 100)), 'int16');

interface NiftiFields {
  readonly le: boolean;
  readonly dim: readonly number[];
  readonly datatype: number;
  readonly bitpix: number;
  readonly pixdim: readonly number[];
  readonly voxOffset: number;
  readonly slope: number;
  readonly inter: number;
  readonly qform: number;
  readonly sform: number;
  readonly quatern: readonly number[];
  readonly srow: readonly number[];
  readonly magic: string;
  readonly dataBytes: number;
}

const VALID_FIELDS: NiftiFields = {
  le: true,
  dim: [3, ...DIMS, 1],
  datatype: 4,
  bitpix: 16,
  pixdim: [1, 0.8, 0.9, 2.5, 1, 1, 1, 1],
  voxOffset: 352,
  slope: 1,
  inter: 0,
  qform: 0,
  sform: 1,
  quatern: [0, 0, 0, 0, 0, 0],
  srow: [-0.8, 0, 0, 10, 0, -0.9, 0, -20, 0, 0, 2.5, 5],
  magic: 'n+1\0',
  dataBytes: VOXELS * 2,
};

/** A valid header with up to three of its fields replaced by random values. */
const randomFieldsArb: fc.Arbitrary<NiftiFields> = fc.record({
  le: fc.boolean(),
  dim: fc.tuple(
    fc.integer({ min: -1, max: 8 }),
    fc.integer({ min: -2, max: 9 }),
    fc.integer({ min: -2, max: 9 }),
    fc.integer({ min: -2, max: 9 }),
    fc.integer({ min: -1, max: 3 }),
  ),
  datatype: fc.oneof(
    fc.constantFrom(2, 4, 8, 16, 64, 128, 256, 512, 768),
    fc.integer({ min: -32768, max: 32767 }),
  ),
  bitpix: fc.constantFrom(8, 16, 24, 32, 64, 0),
  pixdim: fc.array(smallFloat, { minLength: 8, maxLength: 8 }),
  voxOffset: fc.oneof(fc.constantFrom(352, 368, 0, 348), headerNumber),
  slope: fc.oneof(fc.constantFrom(0, 1, 2, -1, 0.5), smallFloat),
  inter: fc.oneof(fc.constantFrom(0, -1024, 3.5), smallFloat),
  qform: fc.integer({ min: -1, max: 4 }),
  sform: fc.integer({ min: -1, max: 4 }),
  quatern: fc.array(fc.oneof(fc.double({ min: -1.5, max: 1.5, noNaN: true }), fc.double()), {
    minLength: 6,
    maxLength: 6,
  }),
  srow: fc.array(smallFloat, { minLength: 12, maxLength: 12 }),
  magic: fc.constantFrom('n+1\0', 'ni1\0', 'n+2\0', 'abc\0'),
  dataBytes: fc.nat({ max: 3000 }),
});
const FIELD_NAMES = Object.keys(VALID_FIELDS) as (keyof NiftiFields)[];
const niftiFieldsArb: fc.Arbitrary<NiftiFields> = fc
  .tuple(randomFieldsArb, fc.subarray(FIELD_NAMES, { maxLength: 3 }))
  .map(([random, keys]) => ({ ...VALID_FIELDS, ...Object.fromEntries(keys.map((k) => [k, random[k]])) }));

function niftiFromFields(f: NiftiFields): Uint8Array {
  const h = new Uint8Array(352 + f.dataBytes);
  const dv = new DataView(h.buffer);
  const le = f.le;
  dv.setInt32(0, 348, le);
  f.dim.forEach((d, i) => dv.setInt16(40 + 2 * i, d, le));
  dv.setInt16(70, f.datatype, le);
  dv.setInt16(72, f.bitpix, le);
  f.pixdim.forEach((p, i) => dv.setFloat32(76 + 4 * i, p, le));
  dv.setFloat32(108, f.voxOffset, le);
  dv.setFloat32(112, f.slope, le);
  dv.setFloat32(116, f.inter, le);
  dv.setInt16(252, f.qform, le);
  dv.setInt16(254, f.sform, le);
  f.quatern.forEach((q, i) => dv.setFloat32(256 + 4 * i, q, le));
  f.srow.forEach((s, i) => dv.setFloat32(280 + 4 * i, s, le));
  for (let i = 0; i < 4; i++) h[344 + i] = f.magic.charCodeAt(i);
  for (let i = 352; i < h.length; i++) h[i] = (i * 31) & 255;
  return h;
}

describe('fuzz: NIfTI', () => {
  it(
    'damaged .nii files',
    async () => {
      const t = tally();
      await fc.assert(
        fc.asyncProperty(mutationsArb, async (muts) => {
          const f = { name: 'fuzz.nii', bytes: mutate(NIFTI, muts) };
          const r = await attempt(t, () => readNifti(f, OPTS));
          if (r) expectWellFormed(r, 'readNifti');
          const s = await attempt(t, () => readSingleFile(f, OPTS));
          if (s) expectWellFormed(s, 'readSingleFile');
        }),
        params(),
      );
      expectBoth(t, 'nii');
    },
    TIMEOUT,
  );

  it(
    'random header values',
    async () => {
      const t = tally();
      await fc.assert(
        fc.asyncProperty(niftiFieldsArb, async (fields) => {
          const r = await attempt(t, () =>
            readNifti({ name: 'fields.nii', bytes: niftiFromFields(fields) }, OPTS),
          );
          if (r) expectWellFormed(r, 'readNifti');
        }),
        params(),
      );
      expectBoth(t, 'nifti fields');
    },
    TIMEOUT,
  );

  it(
    'damaged .nii.gz files (the compressed stream, or the file before compression)',
    async () => {
      const t = tally();
      const gz = gzipSync(NIFTI);
      await fc.assert(
        fc.asyncProperty(fc.boolean(), mutationsArb, async (outer, muts) => {
          const bytes = outer ? mutate(gz, muts) : gzipSync(mutate(NIFTI, muts));
          const r = await attempt(t, () => readNifti({ name: 'fuzz.nii.gz', bytes }, OPTS));
          if (r) expectWellFormed(r, 'readNifti gz');
        }),
        params(),
      );
      expectBoth(t, 'nii.gz');
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------------------
// DICOM

const COLS = 4;
const ROWS = 3;
function dicomSlice(k: number, ts: string, extra: readonly DicomElementSpec[] = []): Uint8Array {
  return encodeDicomFile(
    imageDataSet({
      rows: ROWS,
      columns: COLS,
      pixels: Int16Array.from({ length: ROWS * COLS }, (_, i) => 100 * k + i - 5),
      sopInstanceUid: `1.2.826.0.1.3680043.11.3.${k + 1}`,
      seriesInstanceUid: '1.2.826.0.1.3680043.11.2',
      studyInstanceUid: '1.2.826.0.1.3680043.11.1',
      frameOfReference: '1.2.826.0.1.3680043.11.4',
      instanceNumber: k + 1,
      ipp: [0, 0, 2 * k],
      iop: [1, 0, 0, 0, 1, 0],
      pixelSpacing: [0.5, 0.7],
      slope: 1,
      intercept: -10,
      extra,
    }),
    { transferSyntax: ts },
  );
}
/** Random values for the image-pixel and geometry elements, written into an otherwise valid data set. */
const dsNumber = fc.oneof(
  fc.double({ min: -1000, max: 1000, noNaN: true }).map(String),
  fc.constantFrom('0', '1', '-1', 'NaN', '1e400', '', 'abc', '0.0'),
);
const dsList = (n: number) => fc.array(dsNumber, { minLength: 0, maxLength: n + 1 }).map((a) => a.join('\\'));
const us = fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constantFrom(12, 16, 32, 64, 65535));
const dicomHeaderArb = fc.record(
  {
    rows: us.map((v) => el(0x00280010, 'US', [v])),
    columns: us.map((v) => el(0x00280011, 'US', [v])),
    bitsAllocated: fc.constantFrom(0, 1, 8, 12, 16, 32, 64).map((v) => el(0x00280100, 'US', [v])),
    bitsStored: us.map((v) => el(0x00280101, 'US', [v])),
    pixelRepresentation: fc.integer({ min: 0, max: 3 }).map((v) => el(0x00280103, 'US', [v])),
    samplesPerPixel: fc.constantFrom(0, 1, 3, 4).map((v) => el(0x00280002, 'US', [v])),
    planar: fc.integer({ min: 0, max: 2 }).map((v) => el(0x00280006, 'US', [v])),
    photometric: fc
      .constantFrom('MONOCHROME1', 'MONOCHROME2', 'RGB', 'YBR_FULL', 'PALETTE COLOR', 'X')
      .map((v) => el(0x00280004, 'CS', v)),
    frames: fc
      .oneof(fc.integer({ min: -2, max: 5 }).map(String), fc.constantFrom('', 'abc', '1e9', '2.5'))
      .map((v) => el(0x00280008, 'IS', v)),
    spacing: dsList(2).map((v) => el(0x00280030, 'DS', v)),
    thickness: dsNumber.map((v) => el(0x00180050, 'DS', v)),
    ipp: dsList(3).map((v) => el(0x00200032, 'DS', v)),
    iop: dsList(6).map((v) => el(0x00200037, 'DS', v)),
    slope: dsNumber.map((v) => el(0x00281053, 'DS', v)),
    intercept: dsNumber.map((v) => el(0x00281052, 'DS', v)),
    sopClass: fc
      .constantFrom(
        '1.2.840.10008.5.1.4.1.1.2',
        '1.2.840.10008.5.1.4.1.1.4',
        '1.2.840.10008.5.1.4.1.1.66.4',
        '1.2.3',
      )
      .map((v) => el(0x00080016, 'UI', v)),
    series: fc.constantFrom('1.2.826.0.1.3680043.11.2', '1.2.9').map((v) => el(0x0020000e, 'UI', v)),
  },
  { requiredKeys: [] },
);

const SYNTAXES = [TS_EXPLICIT_LE, TS_IMPLICIT_LE, TS_EXPLICIT_BE, TS_DEFLATED_LE] as const;
const SLICES = new Map(SYNTAXES.map((ts) => [ts, [0, 1, 2].map((k) => dicomSlice(k, ts))]));
const slicesOf = (ts: (typeof SYNTAXES)[number]): readonly Uint8Array[] => SLICES.get(ts) ?? [];

describe('fuzz: DICOM', () => {
  it(
    'one damaged file, every native transfer syntax',
    async () => {
      const t = tally();
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...SYNTAXES), mutationsArb, async (ts, muts) => {
          const base = slicesOf(ts)[0] ?? new Uint8Array(0);
          const f = { name: 'fuzz.dcm', bytes: mutate(base, muts) };
          const r = await attempt(t, () => readImageFiles([f], OPTS));
          if (r) {
            expectWellFormed(r, 'readImageFiles dicom');
            expect(r.volume.dims).toEqual([COLS, ROWS, 1]);
          }
        }),
        params(),
      );
      expectBoth(t, 'dicom file');
    },
    TIMEOUT,
  );

  it(
    'a three-file series with damaged members',
    async () => {
      const t = tally();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...SYNTAXES),
          fc.tuple(mutationsArb, mutationsArb, mutationsArb),
          fc.constantFrom(false, true),
          async (ts, muts, lenient) => {
            const files = slicesOf(ts).map((b, k) => ({
              name: `IM${k}.dcm`,
              bytes: mutate(b, muts[k] ?? []),
            }));
            const r = await attempt(t, () => readImageFiles(files, { ...OPTS, lenient }));
            if (r) {
              expectWellFormed(r, 'readImageFiles series');
              expect(r.volume.dims[2]).toBeLessThanOrEqual(3);
            }
          },
        ),
        params(),
      );
      expectBoth(t, 'dicom series');
    },
    TIMEOUT,
  );

  it(
    'a three-file series with random pixel-module and geometry values',
    async () => {
      const t = tally();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...SYNTAXES),
          dicomHeaderArb,
          fc.constantFrom(-1, 0, 1, 2),
          fc.boolean(),
          async (ts, header, only, lenient) => {
            const extra = Object.values(header);
            // `only` ≥ 0: just that slice gets the random values (a series that disagrees with itself).
            const files = [0, 1, 2].map((k) => ({
              name: `IM${k}.dcm`,
              bytes: dicomSlice(k, ts, only < 0 || only === k ? extra : []),
            }));
            const r = await attempt(t, () => readImageFiles(files, { ...OPTS, lenient }));
            if (r) expectWellFormed(r, 'readImageFiles random header');
          },
        ),
        params(),
      );
      expectBoth(t, 'dicom header values');
    },
    TIMEOUT,
  );

  it(
    'a damaged DICOM SEG read onto its image grid',
    async () => {
      const files = slicesOf(TS_EXPLICIT_LE).map((b, k) => ({ name: `IM${k}.dcm`, bytes: b }));
      const image = await readImageFiles(files);
      const labels = new Uint8Array(COLS * ROWS * 3);
      labels[1] = 1;
      labels[COLS * ROWS + 5] = 2;
      labels[2 * COLS * ROWS + 11] = 1;
      const seg = writeDicomSeg({
        labels: { ...image.volume, data: labels },
        segments: [
          { number: 1, label: 'one' },
          { number: 2, label: 'two' },
        ],
        frameOfReference: image.frameOfReference ?? '',
        studyInstanceUid: image.dicom?.studyUid ?? '',
        seriesInstanceUid: image.dicom?.seriesUid ?? '',
        sourceSopInstanceUids: image.dicom?.sopInstanceUids ?? [],
        seed: 'fuzz',
      });
      // The premise: undamaged, it reads back to the labels written.
      expect([...readSegOnGrid({ name: 'seg.dcm', bytes: seg }, image).volume.data]).toEqual([...labels]);
      const t = tally();
      await fc.assert(
        fc.asyncProperty(mutationsArb, async (muts) => {
          const r = await attempt(t, () =>
            readSegOnGrid({ name: 'seg.dcm', bytes: mutate(seg, muts) }, image, OPTS),
          );
          if (r) {
            expectWellFormed(r, 'readSegOnGrid');
            expect(r.volume.dims).toEqual(image.volume.dims);
          }
        }),
        params(),
      );
      expectBoth(t, 'dicom seg');
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------------------
// PNG

const pngArb = fc
  .record({
    width: fc.integer({ min: 1, max: 12 }),
    height: fc.integer({ min: 1, max: 12 }),
    kind: fc.constantFrom('grey8', 'grey16', 'grey1', 'rgb', 'rgba', 'ga', 'palette'),
    seed: fc.nat(),
  })
  .map(({ width, height, kind, seed }) => {
    const n = width * height;
    const v = (i: number, m: number) => (i * 2654435761 + seed) % m;
    switch (kind) {
      case 'grey8':
        return encodePng({
          width,
          height,
          channels: 1,
          depth: 8,
          data: Uint8Array.from({ length: n }, (_, i) => v(i, 3) * 127),
        });
      case 'grey16':
        return encodePng({
          width,
          height,
          channels: 1,
          depth: 16,
          data: Uint16Array.from({ length: n }, (_, i) => v(i, 65536)),
        });
      case 'grey1': {
        const row = Math.ceil(width / 8);
        return encodePng({
          width,
          height,
          channels: 1,
          depth: 1,
          data: Uint8Array.from({ length: row * height }, (_, i) => v(i, 256)),
        });
      }
      case 'rgb':
        return encodePng({
          width,
          height,
          channels: 3,
          depth: 8,
          data: Uint8Array.from({ length: 3 * n }, (_, i) => v(i, 256)),
        });
      case 'rgba':
        return encodePng({
          width,
          height,
          channels: 4,
          depth: 8,
          data: Uint8Array.from({ length: 4 * n }, (_, i) => v(i, 256)),
        });
      case 'ga':
        return encodePng({
          width,
          height,
          channels: 2,
          depth: 8,
          data: Uint8Array.from({ length: 2 * n }, (_, i) => v(i, 256)),
        });
      default:
        return encodePng({
          width,
          height,
          channels: 1,
          depth: 8,
          palette: [
            [0, 0, 0],
            [255, 0, 0],
            [0, 255, 0],
          ],
          data: Uint8Array.from({ length: n }, (_, i) => v(i, 3)),
        });
    }
  });

describe('fuzz: PNG masks', () => {
  it(
    'damaged PNGs of every colour type',
    async () => {
      const t = tally();
      await fc.assert(
        fc.asyncProperty(pngArb, mutationsArb, async (png, muts) => {
          const f = { name: 'fuzz.png', bytes: mutate(png, muts) };
          const r = await attempt(t, () => readPng(f, OPTS));
          if (r) expectWellFormed(r, 'readPng');
          const s = await attempt(t, () => readSingleFile(f, OPTS));
          if (s) expectWellFormed(s, 'readSingleFile png');
        }),
        params(),
      );
      expectBoth(t, 'png');
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------------------
// JPEG (ultrasound frames) and ONNX model headers

const JPEG_FILES = [
  { w: 16, h: 12, q: 90 },
  { w: 9, h: 7, q: 40 },
].map(
  ({ w, h, q }) =>
    jpeg.encode(
      {
        width: w,
        height: h,
        data: Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 29) & 255)),
      },
      q,
    ).data,
);

describe('fuzz: JPEG', () => {
  it(
    'damaged baseline JPEGs',
    async () => {
      const t = tally();
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...JPEG_FILES), mutationsArb, async (file, muts) => {
          const f = { name: 'fuzz.jpg', bytes: mutate(new Uint8Array(file), muts) };
          const r = await attempt(t, () => readJpeg(f, OPTS));
          if (r) expectWellFormed(r, 'readJpeg');
          const s = await attempt(t, () => readSingleFile(f, OPTS));
          if (s) expectWellFormed(s, 'readSingleFile jpeg');
        }),
        params(),
      );
      expectBoth(t, 'jpeg');
    },
    TIMEOUT,
  );
});

const ONNX_FILES = [fixturePair('sam1-meta').decoder, fixturePair('hf-sam2').decoder];

describe('fuzz: ONNX model headers', () => {
  it(
    'damaged model files give a header or a typed error',
    async () => {
      const t = tally();
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...ONNX_FILES), mutationsArb, async (file, muts) => {
          const h = await attempt(t, () => readOnnxHeader(mutate(file, muts)));
          if (h) {
            for (const io of [...h.inputs, ...h.outputs]) expect(typeof io).toBe('string');
          }
        }),
        params(),
      );
      expectBoth(t, 'onnx header');
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------------------
// NRRD and MetaImage

const TEXT_VALUES = Int16Array.from({ length: VOXELS }, (_, i) => 3 * i - 20);
const RAW = new Uint8Array(TEXT_VALUES.buffer.slice(0));

interface TextFormatCase {
  readonly fields: Readonly<Record<string, string>>;
  readonly encoding: string;
  readonly muts: readonly Mutation[];
  readonly dataMuts: readonly Mutation[];
}

const fieldValue = fc.oneof(
  headerNumber.map(String),
  fc.array(headerNumber, { maxLength: 4 }).map((a) => a.join(' ')),
  fc.string({ maxLength: 12 }),
);

function nrrdFields(extra: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  return {
    type: 'short',
    dimension: '3',
    space: 'right-anterior-superior',
    sizes: DIMS.join(' '),
    'space directions': '(0.5,0,0) (0,0.7,0) (0,0,2)',
    'space origin': '(1,2,3)',
    kinds: 'domain domain domain',
    endian: 'little',
    ...extra,
  };
}

const nrrdFieldNames = [
  'type',
  'dimension',
  'sizes',
  'space directions',
  'space origin',
  'kinds',
  'endian',
  'space',
  'spacings',
  'byte skip',
  'line skip',
];
const overrides = (names: readonly string[]) =>
  fc.dictionary(fc.constantFrom(...names), fieldValue, { maxKeys: 2 });

function nrrdFile(c: TextFormatCase, detached: boolean): InputFile[] {
  const data =
    c.encoding === 'gzip'
      ? gzipSync(RAW)
      : c.encoding === 'ascii'
        ? text(Array.from(TEXT_VALUES).join(' '))
        : RAW;
  const fields = {
    ...nrrdFields(c.fields),
    encoding: c.encoding,
    ...(detached ? { 'data file': 'fuzz.raw' } : {}),
  };
  const header = `NRRD0004\n${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('')}\n`;
  if (detached)
    return [
      { name: 'fuzz.nhdr', bytes: mutate(text(header), c.muts) },
      { name: 'fuzz.raw', bytes: mutate(data, c.dataMuts) },
    ];
  return [{ name: 'fuzz.nrrd', bytes: mutate(concat(text(header), data), c.muts) }];
}

const metaFieldNames = [
  'NDims',
  'DimSize',
  'ElementType',
  'ElementSpacing',
  'Offset',
  'TransformMatrix',
  'HeaderSize',
  'ElementNumberOfChannels',
  'BinaryDataByteOrderMSB',
  'CompressedDataSize',
];

function metaFile(c: TextFormatCase, detached: boolean): InputFile[] {
  const compressed = c.encoding === 'zlib';
  const data = compressed ? zlibSync(RAW) : RAW;
  const fields: Record<string, string> = {
    ObjectType: 'Image',
    NDims: '3',
    BinaryData: 'True',
    BinaryDataByteOrderMSB: 'False',
    CompressedData: compressed ? 'True' : 'False',
    TransformMatrix: '0 1 0 -1 0 0 0 0 1',
    Offset: '1 2 3',
    ElementSpacing: '0.5 0.7 2',
    DimSize: DIMS.join(' '),
    ElementType: 'MET_SHORT',
    ...c.fields,
  };
  const header = `${Object.entries(fields)
    .map(([k, v]) => `${k} = ${v}\n`)
    .join('')}ElementDataFile = ${detached ? 'fuzz.raw' : 'LOCAL'}\n`;
  if (detached)
    return [
      { name: 'fuzz.mhd', bytes: mutate(text(header), c.muts) },
      { name: 'fuzz.raw', bytes: mutate(data, c.dataMuts) },
    ];
  return [{ name: 'fuzz.mha', bytes: mutate(concat(text(header), data), c.muts) }];
}

const textCaseArb = (names: readonly string[], encodings: readonly string[]) =>
  fc.record({
    fields: fc.oneof(fc.constant({}), overrides(names)),
    encoding: fc.constantFrom(...encodings),
    muts: mutationsArb,
    dataMuts: fc.oneof(fc.constant([]), mutationsArb),
  });

describe('fuzz: NRRD and MetaImage', () => {
  for (const detached of [false, true]) {
    it(
      `NRRD, ${detached ? 'detached (.nhdr + data)' : 'attached (.nrrd)'}`,
      async () => {
        const t = tally();
        await fc.assert(
          fc.asyncProperty(textCaseArb(nrrdFieldNames, ['raw', 'gzip', 'ascii']), async (c) => {
            const files = nrrdFile(c, detached);
            const r = await attempt(t, () => readNrrd(files, OPTS));
            if (r) expectWellFormed(r, 'readNrrd');
            const s = await attempt(t, () => readImageFiles(files, OPTS));
            if (s) expectWellFormed(s, 'readImageFiles nrrd');
          }),
          params(),
        );
        expectBoth(t, 'nrrd');
      },
      TIMEOUT,
    );

    it(
      `MetaImage, ${detached ? 'detached (.mhd + .raw)' : 'attached (.mha)'}`,
      async () => {
        const t = tally();
        await fc.assert(
          fc.asyncProperty(textCaseArb(metaFieldNames, ['raw', 'zlib']), async (c) => {
            const files = metaFile(c, detached);
            const r = await attempt(t, () => readMetaImage(files, OPTS));
            if (r) expectWellFormed(r, 'readMetaImage');
            const s = await attempt(t, () => readImageFiles(files, OPTS));
            if (s) expectWellFormed(s, 'readImageFiles metaimage');
          }),
          params(),
        );
        expectBoth(t, 'metaimage');
      },
      TIMEOUT,
    );
  }
});

// ---------------------------------------------------------------------------------------------------------
// Layout detection

const SEGMENTS = [
  'dataset',
  'imagesTr',
  'labelsTr',
  'imagesTs',
  'images',
  'masks',
  'labels',
  'segmentations',
  'Ground',
  'DICOM',
  'DICOM_anon',
  'T1DUAL',
  'InPhase',
  'CT',
  'MR',
  'Train_Sets',
  'training_set',
  'patient0001',
  'patient0002',
  's0011',
  'case_00001',
  'Task01_X',
  '001',
  '__MACOSX',
  '.hidden',
  '.',
  '',
  'a b',
  'ümlaut',
];
const NAMES = [
  'ct.nii.gz',
  'seg.nii.gz',
  'liver.nii.gz',
  'case_001_0000.nii.gz',
  'case_001.nii.gz',
  'img.png',
  'img_Annotation.png',
  '001_HC.png',
  '001_HC_Annotation.png',
  'liver_GT_001.png',
  'IMG-0004-00001.dcm',
  'i0001,0000b.dcm',
  'x.mhd',
  'x.raw',
  'patient0001_4CH_ED.mhd',
  'patient0001_4CH_ED_gt.mhd',
  'patient0001_4CH_ED.raw',
  'image.mha',
  'label.nrrd',
  'dataset.json',
  'training_set_pixel_size_and_HC.csv',
  'README.md',
  '.DS_Store',
  'Thumbs.db',
  '1',
  'noext',
];

const pathArb = fc
  .tuple(
    fc.array(fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 6 })), { maxLength: 4 }),
    fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 10 })),
    fc.constantFrom('/', '/', '\\'),
  )
  .map(([dirs, name, sep]) => [...dirs, name].join(sep));

const DATASET_JSON = JSON.stringify({
  labels: { background: 0, liver: 1, tumour: 2 },
  channel_names: { '0': 'CT' },
  file_ending: '.nii.gz',
  numTraining: 1,
});
const contentArb = fc.oneof(
  fc.constant(DATASET_JSON),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 60 }),
  fc.constant('filename,pixel size(mm),head circumference (mm)\n001_HC.png,0.069,44.3\n'),
);

const layoutArb = fc.array(fc.tuple(pathArb, contentArb), { minLength: 0, maxLength: 24 });

function planPaths(c: CasePlan): string[] {
  const l = c.labels;
  const labels =
    l === null
      ? []
      : l.kind === 'labelmap' || l.kind === 'outline'
        ? [l.path]
        : l.kind === 'per-structure'
          ? l.files.map((f) => f.path)
          : [...l.paths];
  return [...c.image, ...labels];
}

function expectWellFormedPlan(plan: DatasetPlan, inputs: readonly string[]): void {
  const given = new Set(inputs);
  const ids = plan.cases.map((c) => c.id);
  expect(new Set(ids).size, `duplicate case ids ${ids.join(', ')}`).toBe(ids.length);
  const used = new Set<string>();
  for (const c of plan.cases) {
    expect(c.image.length, `case ${c.id} has no image`).toBeGreaterThan(0);
    for (const p of planPaths(c)) {
      expect(given.has(p), `case ${c.id} refers to ${p}, which was not given`).toBe(true);
      used.add(p);
    }
  }
  for (const s of plan.skipped) {
    expect(s.reason.length).toBeGreaterThan(0);
    expect(used.has(s.path), `${s.path} is both used and skipped`).toBe(false);
  }
}

describe('fuzz: dataset layout detection', () => {
  it(
    'arbitrary path lists with arbitrary small contents',
    async () => {
      const t = tally();
      await fc.assert(
        fc.asyncProperty(
          layoutArb,
          fc.option(fc.constantFrom('dataset', 'x', ''), { nil: undefined }),
          async (entries, root) => {
            const files: DatasetFile[] = entries.map(([path, content]) => {
              const bytes = text(content);
              return { path, size: bytes.length, read: () => Promise.resolve(bytes) };
            });
            const plan = await attempt(t, () => detectLayout(files, root));
            if (plan)
              expectWellFormedPlan(
                plan,
                entries.map(([p]) => p),
              );
          },
        ),
        params({ numRuns: RUNS * 3 }),
      );
      expectBoth(t, 'layouts');
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------------------
// Prompt generators

const maskArb: fc.Arbitrary<Mask> = fc
  .record({
    width: fc.integer({ min: 1, max: 20 }),
    height: fc.integer({ min: 1, max: 20 }),
    fill: fc.constantFrom('empty', 'one', 'full', 'random', 'random', 'rect'),
    seed: fc.nat(),
    density: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ width, height, fill, seed, density }) => {
    const n = width * height;
    const data = new Uint8Array(n);
    const rng = rngFromKey(`mask ${seed}`);
    if (fill === 'one') data[seed % n] = 1;
    else if (fill === 'full') data.fill(1);
    else if (fill === 'random') for (let i = 0; i < n; i++) data[i] = rng.next() < density ? 1 : 0;
    else if (fill === 'rect') {
      const x0 = rng.int(width);
      const y0 = rng.int(height);
      const x1 = x0 + rng.int(width - x0);
      const y1 = y0 + rng.int(height - y0);
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) data[y * width + x] = 1;
    }
    return { width, height, data };
  });

const at = (m: Mask, p: { x: number; y: number }) => m.data[p.y * m.width + p.x] ?? 0;
function expectInImage(m: Mask, p: { x: number; y: number }, what: string): void {
  expect(
    Number.isInteger(p.x) && Number.isInteger(p.y) && p.x >= 0 && p.y >= 0 && p.x < m.width && p.y < m.height,
    `${what} (${p.x}, ${p.y}) outside ${m.width}×${m.height}`,
  ).toBe(true);
}
const isEmpty = (m: Mask) => m.data.every((v) => v === 0);
/** Counts (a small integer, possibly negative), margins and shifts as a caller might pass them. */
const countArb = fc.oneof(fc.integer({ min: -2, max: 12 }), fc.constantFrom(0, 1, 2.5, Number.NaN, 1e6));
const STRATEGIES: readonly StrategyId[] = ['centre-random', 'pos-neg', 'box', 'error-region'];

describe('fuzz: prompt generators', () => {
  it(
    'every generator, on arbitrary masks, seeds and counts',
    async () => {
      const t = tally();
      await fc.assert(
        fc.asyncProperty(
          maskArb,
          maskArb,
          fc.string({ maxLength: 8 }),
          countArb,
          countArb,
          async (m, other, seed, k, margin) => {
            const rng = () => rngFromKey(seed);
            const empty = isEmpty(m);
            const c = await attempt(t, () => centreClick(m, rng()));
            expect(c === null, 'centre click refused exactly when the mask is empty').toBe(empty);
            if (c) {
              expectInImage(m, c, 'centre click');
              expect(at(m, c), 'centre click inside the mask').toBeTruthy();
            }
            const cc = await attempt(t, () => centroidClick(m));
            expect(cc === null).toBe(empty);
            if (cc) {
              expectInImage(m, cc, 'centroid click');
              expect(at(m, cc), 'centroid click inside the mask').toBeTruthy();
            }
            const first = c ? [c] : [];
            const pos = await attempt(t, () => randomPositives(m, first, k, rng()));
            if (pos) {
              const keys = new Set(pos.map((p) => `${p.x},${p.y}`));
              expect(keys.size, 'positives are distinct').toBe(pos.length);
              for (const p of pos) {
                expectInImage(m, p, 'random positive');
                expect(at(m, p), 'random positive inside the mask').toBeTruthy();
                expect(
                  first.some((q) => q.x === p.x && q.y === p.y),
                  'the excluded click is not drawn again',
                ).toBe(false);
              }
              const available = m.data.reduce((s, v) => s + (v ? 1 : 0), 0) - first.length;
              if (Number.isInteger(k) && k >= 0) expect(pos.length).toBe(Math.min(k, available));
            }
            const negs = await attempt(t, () => negativeClicks(m, first, k, margin, rng()));
            if (negs) {
              expect(negs.length).toBeLessThanOrEqual(Math.max(0, Number.isFinite(k) ? Math.ceil(k) : 0));
              for (const p of negs) {
                expectInImage(m, p, 'negative click');
                expect(at(m, p), 'negative click in the background').toBeFalsy();
              }
            }
            const box = await attempt(t, () => jitteredBox(m, margin, rng()));
            if (box) {
              expectInImage(m, { x: box.x0, y: box.y0 }, 'box corner');
              expectInImage(m, { x: box.x1, y: box.y1 }, 'box corner');
              expect(box.x0 <= box.x1 && box.y0 <= box.y1, 'box corners ordered').toBe(true);
            }
            const same = other.width === m.width && other.height === m.height;
            const pred = same ? other : { ...m, data: m.data.map((v, i) => (i % 3 === 0 ? 1 - v : v)) };
            const e = await attempt(t, () => errorRegionClick(m, pred, rng()));
            const agree = m.data.every((v, i) => !v === !pred.data[i]);
            if (e === null) expect(agree, 'no error click only where prediction and truth agree').toBe(true);
            else {
              expectInImage(m, e, 'error-region click');
              const g = at(m, e);
              const p = at(pred, e);
              if (e.label === 1) expect(!!g && !p, 'positive correction on a missed pixel').toBe(true);
              else expect(!g && !!p, 'negative correction on an over-segmented pixel').toBe(true);
            }
          },
        ),
        params({ numRuns: RUNS * 3 }),
      );
      expectBoth(t, 'prompt generators');
    },
    TIMEOUT,
  );

  it(
    'planPrompts keeps every prompt in the image, positives in the mask and negatives outside it',
    async () => {
      const t = tally();
      const settingsArb: fc.Arbitrary<ProtocolSettings> = fc.record({
        seed: fc.integer(),
        strategies: fc.subarray([...STRATEGIES]),
        maxPoints: countArb,
        firstClick: fc.constantFrom('centre' as const, 'centroid' as const),
        negatives: countArb,
        negMargin: countArb,
        boxShift: countArb,
        minArea: fc.nat({ max: 100 }),
      });
      await fc.assert(
        fc.asyncProperty(maskArb, settingsArb, fc.string({ maxLength: 6 }), async (m, settings, caseId) => {
          const key = { seed: settings.seed, caseId, slice: 3, label: 1 };
          const plan = await attempt(t, () => planPrompts(m, settings, key));
          if (!plan) return;
          for (const p of plan) {
            expect(settings.strategies).toContain(p.strategy);
            for (const q of p.prompt.points) {
              expectInImage(m, q, `${p.strategy} point`);
              if (q.label === 1) expect(at(m, q), `${p.strategy} positive inside the mask`).toBeTruthy();
              else expect(at(m, q), `${p.strategy} negative outside the mask`).toBeFalsy();
            }
            const b = p.prompt.box;
            if (b) {
              expectInImage(m, { x: b.x0, y: b.y0 }, 'box corner');
              expectInImage(m, { x: b.x1, y: b.y1 }, 'box corner');
            }
          }
        }),
        params({ numRuns: RUNS * 3 }),
      );
      expectBoth(t, 'planPrompts');
    },
    TIMEOUT,
  );
});
