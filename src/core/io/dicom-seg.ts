/**
 * DICOM Segmentation (SEG) reader and writer.
 *
 * Reading places every frame on the image grid through world coordinates: the frame's position
 * (PlanePositionSequence) and orientation give the voxel of its first pixel and the grid axes its rows and
 * columns run along, so a SEG that omits empty frames, or lists frames in any order, still aligns. A frame
 * of reference, orientation or pixel size that differs from the grid, or a frame off the grid, is a
 * 'grid-mismatch': masks are never resampled. BINARY frames are bit-packed (continuously across frames);
 * FRACTIONAL frames are thresholded at half their maximum. The result is a uint8 label volume whose values
 * are segment numbers; where segments overlap, the higher-numbered one wins and a note says so.
 *
 * Writing produces an explicit VR little endian BINARY SEG with no patient-identifying values: only the
 * UIDs needed to reference the source, plus new UIDs derived from a seed under the 2.25 root.
 */
import { AppError } from '../errors';
import type { Mat3, Vec3, Volume } from '../image/types';
import { voxelToWorld, worldToVoxel } from '../image/volume';
import { checkBudget, guardAlloc } from './budget';
import {
  dot,
  frameGeometries,
  functionalGroup,
  items,
  parseDicomFile,
  pixelInfo,
  SOP_SEG,
  str,
  TAG,
  text,
  transferSyntaxName,
  TS_DEFLATED_LE,
  TS_EXPLICIT_BE,
  TS_EXPLICIT_LE,
  TS_IMPLICIT_LE,
  u16,
} from './dicom';
import { el, encodeDicomFile, formatDS, seq, uidFromSeed, type DicomDataSet } from './dicom-write';
import { copyBytes, swapBytes } from './nrrd';
import type { InputFile, ReadOptions, ReadResult } from './types';

const SEG_TAG = {
  segmentationType: 'x00620001',
  segmentSequence: 'x00620002',
  segmentNumber: 'x00620004',
  segmentLabel: 'x00620005',
  segmentIdentification: 'x0062000a',
  referencedSegmentNumber: 'x0062000b',
  maxFractional: 'x0062000e',
} as const;

export type SegGrid = Pick<Volume, 'dims' | 'spacing' | 'origin' | 'direction'> & {
  readonly frameOfReference?: string;
};

function mismatch(name: string, reason: string): AppError {
  return new AppError(
    'grid-mismatch',
    `${name} does not fit this image (${reason}). Load the segmentation made for this image series; masks are never resampled.`,
    { subject: name, detail: reason },
  );
}

function corrupt(name: string, msg: string): AppError {
  return new AppError('corrupt-file', `${name}: ${msg} Re-export the segmentation from its source.`, {
    subject: name,
  });
}

function axisOf(v: Vec3, grid: SegGrid): { axis: 0 | 1 | 2; sign: 1 | -1 } | null {
  for (const axis of [0, 1, 2] as const) {
    const d = grid.direction;
    const g: Vec3 = [d[3 * axis] ?? 0, d[3 * axis + 1] ?? 0, d[3 * axis + 2] ?? 0];
    const c = dot(v, g);
    if (Math.abs(Math.abs(c) - 1) < 1e-3) return { axis, sign: c > 0 ? 1 : -1 };
  }
  return null;
}

/**
 * Reads a DICOM SEG onto `grid` (the geometry of the image it belongs to, as stored or canonicalized).
 */
export function readDicomSeg(file: InputFile, grid: SegGrid, opts: ReadOptions = {}): ReadResult {
  const { name } = file;
  const p = parseDicomFile(file, opts);
  const ds = p.dataSet;
  if (p.sopClassUid !== SOP_SEG) {
    throw new AppError(
      'unsupported-format',
      `${name} is not a DICOM Segmentation (its SOP class is ${p.sopClassUid || 'not given'}). Load a SEG object, or load this file as an image.`,
      { subject: name },
    );
  }
  if (![TS_IMPLICIT_LE, TS_EXPLICIT_LE, TS_DEFLATED_LE, TS_EXPLICIT_BE].includes(p.transferSyntax)) {
    throw new AppError(
      'unsupported-format',
      `${name} is compressed with ${transferSyntaxName(p.transferSyntax)}, which the segmentation reader does not decode. Convert it to an uncompressed SEG (e.g. dcmdjpeg/dcmdrle) or NIfTI.`,
      { subject: name, detail: p.transferSyntax },
    );
  }
  const info = pixelInfo(p);
  const segType = str(ds, SEG_TAG.segmentationType).toUpperCase();
  if (segType !== 'BINARY' && segType !== 'FRACTIONAL') {
    throw new AppError(
      'unsupported-format',
      `${name}: segmentation type '${segType || '(none)'}' is not supported (BINARY or FRACTIONAL).`,
      { subject: name },
    );
  }
  const wantBits = segType === 'BINARY' ? 1 : 8;
  if (info.bitsAllocated !== wantBits || info.samplesPerPixel !== 1)
    throw corrupt(
      name,
      `a ${segType} segmentation needs ${wantBits}-bit single-sample pixels, not ${info.bitsAllocated}-bit.`,
    );
  const { rows, columns, frames } = info;
  const perFrame = rows * columns;
  const pixelBytes = Math.ceil((perFrame * frames * wantBits) / 8);
  const [nx, ny, nz] = grid.dims;
  const nVox = nx * ny * nz;
  checkBudget(pixelBytes + nVox, name, opts);
  const pix = ds.elements[TAG.pixelData];
  if (!pix)
    throw new AppError('truncated-file', `${name} has no pixel data; it may be cut short.`, {
      subject: name,
    });
  if (pix.length < pixelBytes)
    throw corrupt(
      name,
      `its pixel data holds ${pix.length} bytes, but ${frames} frames of ${columns}×${rows} need ${pixelBytes}.`,
    );
  let bits = p.bytes.subarray(pix.dataOffset, pix.dataOffset + pixelBytes);
  if (!p.littleEndian && pix.vr === 'OW') {
    bits = copyBytes(p.bytes.subarray(pix.dataOffset, pix.dataOffset + pix.length));
    swapBytes(bits, 2);
  }

  const segFor = str(ds, TAG.frameOfReference);
  if (grid.frameOfReference && segFor && grid.frameOfReference !== segFor)
    throw mismatch(name, 'it belongs to a different frame of reference');

  const utf8 = str(ds, TAG.charset).includes('ISO_IR 192');
  const labelNames = new Map<number, string>();
  const segOrder = new Map<number, number>();
  items(ds, SEG_TAG.segmentSequence).forEach((it, i) => {
    const num = u16(it, SEG_TAG.segmentNumber);
    if (num === undefined) return;
    labelNames.set(num, text(it, SEG_TAG.segmentLabel, utf8) || `Segment ${num}`);
    segOrder.set(num, i);
  });
  if (labelNames.size === 0) throw corrupt(name, 'it lists no segments (SegmentSequence is empty).');
  const tooBig = [...labelNames.keys()].find((n) => n < 1 || n > 255);
  if (tooBig !== undefined)
    throw new AppError(
      'unsupported-format',
      `${name}: segment number ${tooBig} does not fit this app's 8-bit label maps (1–255).`,
      { subject: name },
    );

  const { geoms } = frameGeometries(p, frames);
  const maxFrac = segType === 'FRACTIONAL' ? (u16(ds, SEG_TAG.maxFractional) ?? 255) : 1;
  const threshold = maxFrac / 2;
  const labels = guardAlloc(name, () => new Uint8Array(nVox));
  const strides = [1, nx, nx * ny];
  const frameList = geoms.map((g, f) => {
    const segNum = u16(
      functionalGroup(ds, f, SEG_TAG.segmentIdentification),
      SEG_TAG.referencedSegmentNumber,
    );
    if (segNum === undefined)
      throw corrupt(name, `frame ${f + 1} names no segment (ReferencedSegmentNumber).`);
    if (!labelNames.has(segNum))
      throw corrupt(name, `frame ${f + 1} refers to segment ${segNum}, which is not listed.`);
    return { f, g, segNum };
  });
  frameList.sort((a, b) => (segOrder.get(a.segNum) ?? 0) - (segOrder.get(b.segNum) ?? 0) || a.f - b.f);
  let overlaps = 0;
  let fractionalSeen = false;
  for (const { f, g, segNum } of frameList) {
    const where = `frame ${f + 1}`;
    if (!g.ipp || !g.iop) throw corrupt(name, `${where} has no position or orientation.`);
    if (!g.pixelSpacing) throw corrupt(name, `${where} has no pixel spacing.`);
    const rowAxis = axisOf(g.iop[0], grid);
    const colAxis = axisOf(g.iop[1], grid);
    if (!rowAxis || !colAxis || rowAxis.axis === colAxis.axis)
      throw mismatch(name, `the orientation of ${where} is not a plane of the image grid`);
    const [rowSp, colSp] = g.pixelSpacing;
    const gridSpA = grid.spacing[rowAxis.axis];
    const gridSpB = grid.spacing[colAxis.axis];
    if (Math.abs(colSp - gridSpA) > 1e-3 * gridSpA || Math.abs(rowSp - gridSpB) > 1e-3 * gridSpB)
      throw mismatch(name, `pixel spacing ${rowSp}×${colSp} mm vs ${gridSpB}×${gridSpA} mm`);
    const v = worldToVoxel(grid, g.ipp);
    const v0 = v.map((x) => Math.round(x));
    if (v.some((x, i) => Math.abs(x - (v0[i] ?? 0)) > 0.1))
      throw mismatch(
        name,
        `${where} lies between the image's voxels (at voxel ${v.map((x) => x.toFixed(2)).join(', ')})`,
      );
    const end = [...v0];
    end[rowAxis.axis] = (end[rowAxis.axis] ?? 0) + rowAxis.sign * (columns - 1);
    end[colAxis.axis] = (end[colAxis.axis] ?? 0) + colAxis.sign * (rows - 1);
    const inside = (q: number[]) => q.every((x, i) => x >= 0 && x < (grid.dims[i] ?? 0));
    if (!inside(v0) || !inside(end))
      throw mismatch(name, `${where} falls outside the image grid (voxel ${v0.join(', ')})`);
    const base =
      (v0[0] ?? 0) * (strides[0] ?? 0) + (v0[1] ?? 0) * (strides[1] ?? 0) + (v0[2] ?? 0) * (strides[2] ?? 0);
    const stepC = rowAxis.sign * (strides[rowAxis.axis] ?? 0);
    const stepR = colAxis.sign * (strides[colAxis.axis] ?? 0);
    const bit0 = f * perFrame;
    for (let r = 0; r < rows; r++) {
      let o = base + r * stepR;
      for (let c = 0; c < columns; c++, o += stepC) {
        const idx = bit0 + r * columns + c;
        let on: boolean;
        if (wantBits === 1) {
          on = (((bits[idx >>> 3] ?? 0) >> (idx & 7)) & 1) === 1;
        } else {
          const val = bits[idx] ?? 0;
          on = val > threshold;
          if (val > 0 && val < maxFrac) fractionalSeen = true;
        }
        if (!on) continue;
        const prev = labels[o] ?? 0;
        if (prev !== 0 && prev !== segNum) overlaps++;
        labels[o] = segNum;
      }
    }
  }
  const notes: string[] = [...p.notes];
  if (overlaps > 0)
    notes.push(`${overlaps} voxels belong to more than one segment; the later segment was kept for each.`);
  if (segType === 'FRACTIONAL')
    notes.push(
      fractionalSeen
        ? `Fractional segmentation thresholded at half its maximum (${maxFrac}).`
        : 'Fractional segmentation (all values 0 or maximum).',
    );
  const volume: Volume = {
    dims: grid.dims,
    spacing: grid.spacing,
    spacingKnown: true,
    origin: grid.origin,
    direction: grid.direction,
    data: labels,
    modality: opts.modality ?? 'OT',
    ...(segFor ? { frameOfReference: segFor } : {}),
  };
  return {
    volume,
    format: 'dicom-seg',
    notes,
    is8bit: true,
    labelNames,
    ...(segFor ? { frameOfReference: segFor } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Writer

export interface SegCode {
  readonly value: string;
  readonly scheme: string;
  readonly meaning: string;
}

export interface SegSegment {
  readonly number: number;
  readonly label: string;
  readonly algorithmType?: 'AUTOMATIC' | 'SEMIAUTOMATIC' | 'MANUAL';
  readonly algorithmName?: string;
  /** Segmented property category and type (default SNOMED CT 85756007 "Tissue" for both). */
  readonly category?: SegCode;
  readonly type?: SegCode;
}

export interface WriteSegParams {
  /** Label volume on the source image's grid (as stored); values are segment numbers. */
  readonly labels: Pick<Volume, 'dims' | 'spacing' | 'origin' | 'direction' | 'data'>;
  readonly segments: readonly SegSegment[];
  readonly frameOfReference: string;
  readonly studyInstanceUid: string;
  /** The source image series. */
  readonly seriesInstanceUid: string;
  /**
   * Source SOP instances: one per slice k of `labels` (a single-frame series in k order), or one
   * multi-frame instance whose frame k+1 is slice k. Omit to reference the series only.
   */
  readonly sourceSopInstanceUids?: readonly string[];
  readonly sourceSopClassUid?: string;
  /** New UIDs (SOP instance, series, dimension organisation) are derived from this. */
  readonly seed: string;
  readonly seriesDescription?: string;
  readonly seriesNumber?: number;
  /** DICOM DA and TM strings; left empty when not given (the output then depends only on the inputs). */
  readonly contentDate?: string;
  readonly contentTime?: string;
}

const TISSUE: SegCode = { value: '85756007', scheme: 'SCT', meaning: 'Tissue' };
const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

function code(tag: number, c: SegCode): ReturnType<typeof seq> {
  return seq(tag, [
    [el(0x00080100, 'SH', c.value), el(0x00080102, 'SH', c.scheme), el(0x00080104, 'LO', c.meaning)],
  ]);
}

function invalid(msg: string): AppError {
  return new AppError('invalid-argument', `DICOM SEG export: ${msg}`, { subject: 'dicom-seg' });
}

/** The UIDs writeDicomSeg will give its output for `seed`. */
export function segUids(seed: string): { sopInstanceUid: string; seriesInstanceUid: string } {
  return {
    sopInstanceUid: uidFromSeed(`${seed}|seg-sop`),
    seriesInstanceUid: uidFromSeed(`${seed}|seg-series`),
  };
}

/** Writes a BINARY DICOM SEG (explicit VR little endian Part-10) of a label volume; empty frames are left out. */
export function writeDicomSeg(params: WriteSegParams): Uint8Array {
  const { labels, segments } = params;
  const [nx, ny, nz] = labels.dims;
  const perFrame = nx * ny;
  if (labels.data.length !== perFrame * nz)
    throw invalid(`the label data does not match its size ${nx}×${ny}×${nz}.`);
  const numbers = new Set<number>();
  for (const s of segments) {
    if (!Number.isInteger(s.number) || s.number < 1 || s.number > 65535 || numbers.has(s.number))
      throw invalid(`segment number ${s.number} is not a unique whole number from 1 to 65535.`);
    numbers.add(s.number);
  }
  const unnamed = new Set<number>();
  for (let i = 0; i < labels.data.length; i++) {
    const v = labels.data[i] ?? 0;
    if (v !== 0 && !numbers.has(v)) unnamed.add(v);
  }
  if (unnamed.size > 0)
    throw invalid(`label values ${[...unnamed].slice(0, 10).join(', ')} have no segment entry.`);
  const src = params.sourceSopInstanceUids;
  if (src && src.length !== nz && src.length !== 1)
    throw invalid(`${src.length} source instances given for ${nz} slices.`);
  const sortedSegs = [...segments].sort((a, b) => a.number - b.number);

  // Frames: one per segment and slice that holds any voxel of it.
  const frames: { seg: number; k: number }[] = [];
  for (const s of sortedSegs) {
    for (let k = 0; k < nz; k++) {
      const off = k * perFrame;
      for (let i = 0; i < perFrame; i++) {
        if (labels.data[off + i] === s.number) {
          frames.push({ seg: s.number, k });
          break;
        }
      }
    }
  }
  if (frames.length === 0) throw invalid('the label volume is empty; there is nothing to export.');
  const totalBits = frames.length * perFrame;
  const pixels = guardAlloc('DICOM SEG export', () => new Uint8Array(Math.ceil(totalBits / 8)));
  frames.forEach(({ seg, k }, f) => {
    const off = k * perFrame;
    const bit0 = f * perFrame;
    for (let i = 0; i < perFrame; i++) {
      if (labels.data[off + i] !== seg) continue;
      const bit = bit0 + i;
      pixels[bit >>> 3] = (pixels[bit >>> 3] ?? 0) | (1 << (bit & 7));
    }
  });

  const d: Mat3 = labels.direction;
  const iop = [d[0], d[1], d[2], d[3], d[4], d[5]].map(formatDS);
  const sp = labels.spacing;
  const { sopInstanceUid, seriesInstanceUid } = segUids(params.seed);
  const dimUid = uidFromSeed(`${params.seed}|seg-dimensions`);
  const srcClass = params.sourceSopClassUid ?? CT_IMAGE_STORAGE;
  const sourceRef = (k: number): DicomDataSet | null => {
    if (!src) return null;
    const multi = src.length === 1 && nz > 1;
    const uid = multi ? src[0] : src[k];
    if (uid === undefined) return null;
    return [
      el(0x00081150, 'UI', srcClass),
      el(0x00081155, 'UI', uid),
      ...(multi ? [el(0x00081160, 'IS', String(k + 1))] : []),
      code(0x0040a170, {
        value: '121322',
        scheme: 'DCM',
        meaning: 'Source image for image processing operation',
      }),
    ];
  };
  const perFrameItems: DicomDataSet[] = frames.map(({ seg, k }) => {
    const ipp = voxelToWorld(labels, 0, 0, k).map(formatDS);
    const ref = sourceRef(k);
    return [
      ...(ref
        ? [
            seq(0x00089124, [
              [
                seq(0x00082112, [ref]),
                code(0x00089215, { value: '113076', scheme: 'DCM', meaning: 'Segmentation' }),
              ],
            ]),
          ]
        : []),
      seq(0x00209111, [[el(0x00209157, 'UL', [seg, k + 1])]]),
      seq(0x00209113, [[el(0x00200032, 'DS', ipp)]]),
      seq(0x0062000a, [[el(0x0062000b, 'US', [seg])]]),
    ];
  });
  const segmentItems: DicomDataSet[] = sortedSegs.map((s) => {
    const algType = s.algorithmType ?? 'AUTOMATIC';
    return [
      code(0x00620003, s.category ?? TISSUE),
      el(0x00620004, 'US', [s.number]),
      el(0x00620005, 'LO', s.label.slice(0, 64)),
      el(0x00620008, 'CS', algType),
      ...(algType === 'MANUAL'
        ? []
        : [el(0x00620009, 'LO', (s.algorithmName ?? 'sam-compare').slice(0, 64))]),
      code(0x0062000f, s.type ?? TISSUE),
    ];
  });
  const referencedSeries: DicomDataSet[] = src
    ? [
        [
          el(0x0020000e, 'UI', params.seriesInstanceUid),
          seq(
            0x0008114a,
            [...new Set(src)].map((uid) => [el(0x00081150, 'UI', srcClass), el(0x00081155, 'UI', uid)]),
          ),
        ],
      ]
    : [];
  const ds: DicomDataSet = [
    el(0x00080005, 'CS', 'ISO_IR 192'),
    el(0x00080008, 'CS', ['DERIVED', 'PRIMARY']),
    el(0x00080016, 'UI', SOP_SEG),
    el(0x00080018, 'UI', sopInstanceUid),
    el(0x00080020, 'DA', ''),
    el(0x00080023, 'DA', params.contentDate ?? ''),
    el(0x00080030, 'TM', ''),
    el(0x00080033, 'TM', params.contentTime ?? ''),
    el(0x00080050, 'SH', ''),
    el(0x00080060, 'CS', 'SEG'),
    el(0x00080070, 'LO', 'sam-compare'),
    el(0x00080090, 'PN', ''),
    el(0x0008103e, 'LO', (params.seriesDescription ?? 'Segmentation').slice(0, 64)),
    el(0x00081090, 'LO', 'sam-compare'),
    ...(referencedSeries.length > 0 ? [seq(0x00081115, referencedSeries)] : []),
    el(0x00100010, 'PN', ''),
    el(0x00100020, 'LO', ''),
    el(0x00100030, 'DA', ''),
    el(0x00100040, 'CS', ''),
    el(0x00181000, 'LO', '1'),
    el(0x00181020, 'LO', 'sam-compare'),
    el(0x0020000d, 'UI', params.studyInstanceUid),
    el(0x0020000e, 'UI', seriesInstanceUid),
    el(0x00200010, 'SH', ''),
    el(0x00200011, 'IS', String(params.seriesNumber ?? 300)),
    el(0x00200013, 'IS', '1'),
    el(0x00200052, 'UI', params.frameOfReference),
    el(0x00201040, 'LO', ''),
    seq(0x00209221, [[el(0x00209164, 'UI', dimUid)]]),
    seq(0x00209222, [
      [
        el(0x00209164, 'UI', dimUid),
        el(0x00209165, 'AT', [0x0062000b]),
        el(0x00209167, 'AT', [0x0062000a]),
        el(0x00209421, 'LO', 'ReferencedSegmentNumber'),
      ],
      [
        el(0x00209164, 'UI', dimUid),
        el(0x00209165, 'AT', [0x00200032]),
        el(0x00209167, 'AT', [0x00209113]),
        el(0x00209421, 'LO', 'ImagePositionPatient'),
      ],
    ]),
    el(0x00280002, 'US', [1]),
    el(0x00280004, 'CS', 'MONOCHROME2'),
    el(0x00280008, 'IS', String(frames.length)),
    el(0x00280010, 'US', [ny]),
    el(0x00280011, 'US', [nx]),
    el(0x00280100, 'US', [1]),
    el(0x00280101, 'US', [1]),
    el(0x00280102, 'US', [0]),
    el(0x00280103, 'US', [0]),
    el(0x00282110, 'CS', '00'),
    el(0x00620001, 'CS', 'BINARY'),
    seq(0x00620002, segmentItems),
    el(0x00700080, 'CS', 'SEGMENTATION'),
    el(0x00700081, 'LO', ''),
    el(0x00700084, 'PN', ''),
    seq(0x52009229, [
      [
        seq(0x00209116, [[el(0x00200037, 'DS', iop)]]),
        seq(0x00289110, [
          [
            el(0x00180050, 'DS', formatDS(sp[2])),
            el(0x00180088, 'DS', formatDS(sp[2])),
            el(0x00280030, 'DS', [formatDS(sp[1]), formatDS(sp[0])]),
          ],
        ]),
      ],
    ]),
    seq(0x52009230, perFrameItems),
    el(0x7fe00010, 'OB', pixels),
  ];
  return encodeDicomFile(ds);
}
