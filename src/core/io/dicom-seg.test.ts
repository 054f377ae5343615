import dicomParser, { type DataSet } from 'dicom-parser';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { Mat3, Volume } from '../image/types';
import { canonicalize } from '../image/volume';
import { readDicomSeries } from './dicom';
import { readDicomSeg, segUids, writeDicomSeg, type SegGrid } from './dicom';
import { el, encodeDicomFile, imageDataSet, seq, type DicomDataSet } from '../testing/dicom';
import type { InputFile } from './types';

const NX = 5;
const NY = 3;
const NZ = 4;
const FOR = '1.2.826.0.1.3680043.99.9';
const STUDY = '1.2.826.0.1.3680043.99.1';
const SERIES = '1.2.826.0.1.3680043.99.2';
const SOP = (k: number) => `1.2.826.0.1.3680043.99.3.${k + 1}`;

/** A coronal CT series: rows run to patient left, columns downwards (−z), slices posterior (+y). */
async function coronalSeries() {
  const files: InputFile[] = [0, 1, 2, 3].map((k) => ({
    name: `ct${k}.dcm`,
    bytes: encodeDicomFile(
      imageDataSet({
        rows: NY,
        columns: NX,
        pixels: new Int16Array(NX * NY).fill(k),
        sopInstanceUid: SOP(k),
        seriesInstanceUid: SERIES,
        studyInstanceUid: STUDY,
        frameOfReference: FOR,
        ipp: [-10, 5 + 2.5 * k, 40],
        iop: [1, 0, 0, 0, 0, -1],
        pixelSpacing: [0.8, 0.5],
      }),
    ),
  }));
  const { series, errors } = await readDicomSeries(files);
  expect(errors).toEqual([]);
  const s = series[0];
  if (!s) throw new Error('no series');
  return s;
}

/** Segment 1 on slices 0 and 2, segment 2 on slices 2 and 3; slice 1 is empty. */
function labelData(): Uint8Array {
  const d = new Uint8Array(NX * NY * NZ);
  const at = (i: number, j: number, k: number) => i + j * NX + k * NX * NY;
  d[at(0, 0, 0)] = 1;
  d[at(4, 2, 0)] = 1;
  d[at(1, 1, 2)] = 1;
  d[at(3, 1, 2)] = 2;
  d[at(2, 0, 3)] = 2;
  d[at(2, 2, 3)] = 2;
  return d;
}

function gridOf(v: Volume): SegGrid {
  return {
    dims: v.dims,
    spacing: v.spacing,
    origin: v.origin,
    direction: v.direction,
    ...(v.frameOfReference ? { frameOfReference: v.frameOfReference } : {}),
  };
}

function write(image: Volume, data: Uint8Array, seed = 'seed-1'): Uint8Array {
  return writeDicomSeg({
    labels: { ...gridOf(image), data },
    segments: [
      { number: 1, label: 'liver' },
      { number: 2, label: 'spleen ü' },
    ],
    frameOfReference: FOR,
    studyInstanceUid: STUDY,
    seriesInstanceUid: SERIES,
    sourceSopInstanceUids: [0, 1, 2, 3].map(SOP),
    seed,
  });
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

describe('DICOM SEG write → read', () => {
  it('round-trips a label volume on its grid, leaving out empty frames', async () => {
    const image = (await coronalSeries()).result.volume;
    const labels = labelData();
    const bytes = write(image, labels);
    // Non-empty (segment, slice) pairs by hand: (1,0) (1,2) (2,2) (2,3).
    expect(dicomParser.parseDicom(bytes).intString('x00280008')).toBe(4);
    const r = readDicomSeg({ name: 'seg.dcm', bytes }, gridOf(image));
    expect(r.format).toBe('dicom-seg');
    expect([...r.volume.data]).toEqual([...labels]);
    expect(r.volume.dims).toEqual(image.dims);
    expect(r.labelNames).toEqual(
      new Map([
        [1, 'liver'],
        [2, 'spleen ü'],
      ]),
    );
    expect(r.frameOfReference).toBe(FOR);
    expect(r.notes.join(' ')).not.toMatch(/more than one segment/);
  });

  it('places frames by world position on a canonicalized grid too', async () => {
    const image = (await coronalSeries()).result.volume;
    const labels = labelData();
    const canon = canonicalize(image);
    // The coronal grid really is reordered: j and k swap, one of them flips.
    expect(canon.dims).toEqual([NX, NZ, NY]);
    const r = readDicomSeg({ name: 'seg.dcm', bytes: write(image, labels) }, gridOf(canon));
    expect([...r.volume.data]).toEqual([...canonicalize({ ...image, data: labels }).data]);
  });

  it('aligns a SEG whose only frame is the last slice', async () => {
    const image = (await coronalSeries()).result.volume;
    const labels = new Uint8Array(NX * NY * NZ);
    labels[3 + 2 * NX + 3 * NX * NY] = 1;
    const bytes = write(image, labels);
    expect(dicomParser.parseDicom(bytes).intString('x00280008')).toBe(1);
    const r = readDicomSeg({ name: 'one.dcm', bytes }, gridOf(image));
    expect([...r.volume.data]).toEqual([...labels]);
  });

  it('refuses a grid with another frame of reference, pixel size, origin, extent or orientation', async () => {
    const image = (await coronalSeries()).result.volume;
    const file = { name: 'seg.dcm', bytes: write(image, labelData()) };
    const g = gridOf(image);
    expectCode(
      () => readDicomSeg(file, { ...g, frameOfReference: '1.2.3' }),
      'grid-mismatch',
      /frame of reference/,
    );
    expectCode(
      () => readDicomSeg(file, { ...g, spacing: [0.6, 0.8, 2.5] }),
      'grid-mismatch',
      /pixel spacing/,
    );
    expectCode(
      () => readDicomSeg(file, { ...g, origin: [g.origin[0] + 0.25, g.origin[1], g.origin[2]] }),
      'grid-mismatch',
      /between the image's voxels/,
    );
    expectCode(
      () => readDicomSeg(file, { ...g, dims: [NX - 1, NY, NZ] }),
      'grid-mismatch',
      /outside the image grid/,
    );
    expectCode(
      () => readDicomSeg(file, { ...g, dims: [NX, NY, 3] }),
      'grid-mismatch',
      /outside the image grid/,
    );
    // The same grid turned 30° about the vertical axis: rows no longer run along a grid axis.
    const c = Math.cos(Math.PI / 6);
    const s = Math.sin(Math.PI / 6);
    const turned: Mat3 = [c, s, 0, 0, 0, -1, -s, c, 0];
    expectCode(() => readDicomSeg(file, { ...g, direction: turned }), 'grid-mismatch', /orientation/);
  });

  it('carries no patient data and only the source UIDs plus new 2.25 UIDs derived from the seed', async () => {
    const image = (await coronalSeries()).result.volume;
    const a = write(image, labelData(), 'study-x/run-1');
    const b = write(image, labelData(), 'study-x/run-1');
    const c = write(image, labelData(), 'study-x/run-2');
    expect(a).toEqual(b);
    const ds = dicomParser.parseDicom(a);
    for (const tag of ['x00100010', 'x00100020', 'x00100030', 'x00100040']) {
      expect(ds.elements[tag]?.length, tag).toBe(0);
    }
    const uids = new Set<string>();
    const walk = (d: DataSet) => {
      for (const [tag, e] of Object.entries(d.elements)) {
        if (e.vr === 'UI') uids.add(d.string(tag) ?? '');
        for (const it of e.items ?? []) if (it.dataSet) walk(it.dataSet);
      }
    };
    walk(ds);
    const mine = segUids('study-x/run-1');
    const known = new Set([
      STUDY,
      SERIES,
      FOR,
      ...[0, 1, 2, 3].map(SOP),
      '1.2.840.10008.5.1.4.1.1.66.4', // SEG storage
      '1.2.840.10008.5.1.4.1.1.2', // CT image storage (referenced)
      '1.2.840.10008.1.2.1', // transfer syntax
    ]);
    const generated = [...uids].filter((u) => !known.has(u));
    expect(generated).toContain(mine.sopInstanceUid);
    expect(generated).toContain(mine.seriesInstanceUid);
    for (const u of generated) {
      expect(u).toMatch(/^2\.25\.(0|[1-9]\d*)$/);
      expect(u.length).toBeLessThanOrEqual(64);
      expect(BigInt(u.slice(5)) < 2n ** 128n).toBe(true);
    }
    expect(ds.string('x00080018')).toBe(mine.sopInstanceUid);
    expect(dicomParser.parseDicom(c).string('x00080018')).not.toBe(mine.sopInstanceUid);
    expect(ds.string('x0020000d')).toBe(STUDY);
  });

  it('refuses labels without a segment entry and an empty volume', async () => {
    const image = (await coronalSeries()).result.volume;
    const bad = labelData();
    bad[0] = 7;
    expectCode(() => write(image, bad), 'invalid-argument', /label values 7/);
    expectCode(() => write(image, new Uint8Array(NX * NY * NZ)), 'invalid-argument', /empty/);
  });
});

describe('DICOM SEG from other writers', () => {
  /** A FRACTIONAL SEG on the axial identity grid with two overlapping frames at slice 1. */
  function fractional(): InputFile {
    const frame = (f: (p: number) => number) => Uint8Array.from({ length: NX * NY }, (_, p) => f(p));
    const pixels = new Uint8Array(2 * NX * NY);
    pixels.set(
      frame((p) => (p < 8 ? 200 : 100)),
      0,
    ); // segment 2: on for p < 8 (100 ≤ 127.5 is off)
    pixels.set(
      frame((p) => (p >= 5 && p < 12 ? 255 : 0)),
      NX * NY,
    ); // segment 1: on for 5 ≤ p < 12
    const perFrame = (segment: number): DicomDataSet => [
      seq(0x00209113, [[el(0x00200032, 'DS', ['0', '0', '1'])]]),
      seq(0x00209116, [[el(0x00200037, 'DS', ['1', '0', '0', '0', '1', '0'])]]),
      seq(0x0062000a, [[el(0x0062000b, 'US', [segment])]]),
    ];
    const ds: DicomDataSet = [
      el(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.66.4'),
      el(0x00080018, 'UI', '1.5.5'),
      el(0x00080060, 'CS', 'SEG'),
      el(0x00200052, 'UI', FOR),
      el(0x00280002, 'US', [1]),
      el(0x00280004, 'CS', 'MONOCHROME2'),
      el(0x00280008, 'IS', '2'),
      el(0x00280010, 'US', [NY]),
      el(0x00280011, 'US', [NX]),
      el(0x00280100, 'US', [8]),
      el(0x00280101, 'US', [8]),
      el(0x00280102, 'US', [7]),
      el(0x00280103, 'US', [0]),
      el(0x00620001, 'CS', 'FRACTIONAL'),
      el(0x0062000e, 'US', [255]),
      seq(0x00620002, [
        [el(0x00620004, 'US', [1]), el(0x00620005, 'LO', 'one')],
        [el(0x00620004, 'US', [2]), el(0x00620005, 'LO', 'two')],
      ]),
      seq(0x52009229, [[seq(0x00289110, [[el(0x00280030, 'DS', ['1', '1'])]])]]),
      seq(0x52009230, [perFrame(2), perFrame(1)]),
      el(0x7fe00010, 'OB', pixels),
    ];
    return { name: 'frac.dcm', bytes: encodeDicomFile(ds, { undefinedLengthSequences: true }) };
  }
  const axialGrid: SegGrid = {
    dims: [NX, NY, 3],
    spacing: [1, 1, 1],
    origin: [0, 0, 0],
    direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
    frameOfReference: FOR,
  };

  it('thresholds fractional frames at half the maximum; the later segment wins an overlap', () => {
    const r = readDicomSeg(fractional(), axialGrid);
    const slice1 = [...r.volume.data.subarray(NX * NY, 2 * NX * NY)];
    const expected = Array.from({ length: NX * NY }, (_, p) => (p < 8 ? 2 : p < 12 ? 1 : 0));
    expect(slice1).toEqual(expected);
    expect([...r.volume.data.subarray(0, NX * NY)].every((x) => x === 0)).toBe(true);
    expect(r.notes.join(' ')).toMatch(/3 voxels belong to more than one segment/);
    expect(r.notes.join(' ')).toMatch(/thresholded at half its maximum \(255\)/);
    expect(r.labelNames?.get(2)).toBe('two');
  });

  it('refuses objects that are not SEG, compressed SEGs and truncated SEGs with typed errors', async () => {
    const ct = (await coronalSeries()).result.volume;
    const image = {
      name: 'ct.dcm',
      bytes: encodeDicomFile(
        imageDataSet({
          rows: 1,
          columns: 1,
          pixels: new Int16Array(1),
          sopInstanceUid: '1',
          seriesInstanceUid: '1',
          studyInstanceUid: '1',
        }),
      ),
    };
    expectCode(() => readDicomSeg(image, gridOf(ct)), 'unsupported-format', /not a DICOM Segmentation/);
    const f = fractional();
    const rle = {
      name: 'rle.dcm',
      bytes: encodeDicomFile(
        [
          el(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.66.4'),
          el(0x00080018, 'UI', '1.5.6'),
          el(0x7fe00010, 'OB', { fragments: [new Uint8Array(64)] }),
        ],
        { transferSyntax: '1.2.840.10008.1.2.5' },
      ),
    };
    expectCode(() => readDicomSeg(rle, axialGrid), 'unsupported-format', /RLE Lossless/);
    expectCode(
      () => readDicomSeg({ name: 'cut.dcm', bytes: f.bytes.subarray(0, f.bytes.length - 10) }, axialGrid),
      'truncated-file',
    );
  });
});
