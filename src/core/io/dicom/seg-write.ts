/**
 * DICOM Segmentation (SEG) writer: an explicit VR little endian BINARY SEG with no patient-identifying
 * values: only the UIDs needed to reference the source, plus new UIDs derived from a seed under the 2.25
 * root.
 */
import { AppError } from '../../errors';
import type { Mat3, Volume } from '../../image/types';
import { voxelToWorld } from '../../image/volume';
import { guardAlloc } from '../budget';
import { SOP_SEG } from './dictionary';
import { el, encodeDicomFile, formatDS, seq, uidFromSeed, type DicomDataSet } from './write';

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
