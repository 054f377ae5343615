/**
 * DICOM test kit: the encoder and its transfer syntaxes, plus image data sets (CT slices, multi-frame
 * objects) built from known samples, so tests know the expected values by construction. Test-only: the app
 * writes DICOM through core/io/dicom/seg-write.ts alone.
 */
import { el, formatDS, seq, type DicomDataSet, type DicomElementSpec } from '../io/dicom/write';

export {
  TS_DEFLATED_LE,
  TS_EXPLICIT_BE,
  TS_EXPLICIT_LE,
  TS_IMPLICIT_LE,
  type DicomVR,
} from '../io/dicom/dictionary';
export {
  el,
  encodeDicomFile,
  formatDS,
  seq,
  uidFromSeed,
  type DicomDataSet,
  type DicomElementSpec,
  type DicomValue,
  type EncodeOptions,
} from '../io/dicom/write';

export type PixelSamples = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** Little-endian bytes of integer samples. */
export function samplesToBytesLE(s: PixelSamples): Uint8Array {
  const size = s.BYTES_PER_ELEMENT;
  const out = new Uint8Array(s.length * size);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < s.length; i++) {
    const v = s[i] ?? 0;
    if (size === 1) dv.setUint8(i, v & 0xff);
    else if (size === 2) dv.setUint16(2 * i, v & 0xffff, true);
    else dv.setUint32(4 * i, v >>> 0, true);
  }
  return out;
}

export interface ImageDataSetParams {
  readonly rows: number;
  readonly columns: number;
  /** All frames, each rows × columns × samplesPerPixel, columns fastest (planar layout if planarConfiguration 1). */
  readonly pixels: PixelSamples;
  readonly bitsStored?: number;
  readonly samplesPerPixel?: 1 | 3;
  readonly planarConfiguration?: 0 | 1;
  readonly photometric?: string;
  readonly modality?: string;
  readonly sopClassUid?: string;
  readonly sopInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly studyInstanceUid: string;
  readonly frameOfReference?: string;
  readonly seriesDescription?: string;
  readonly instanceNumber?: number;
  /** Single-frame geometry (and the legacy multi-frame top level). */
  readonly ipp?: readonly [number, number, number];
  readonly iop?: readonly [number, number, number, number, number, number];
  /** [between rows, between columns] in mm. */
  readonly pixelSpacing?: readonly [number, number];
  readonly sliceThickness?: number;
  readonly slope?: number;
  readonly intercept?: number;
  /**
   * Enhanced multi-frame: one entry per frame, written as PerFrameFunctionalGroupsSequence plane positions;
   * orientation, pixel measures and rescale go into SharedFunctionalGroupsSequence.
   */
  readonly frames?: readonly { readonly ipp: readonly [number, number, number] }[];
  /** Further elements (they replace generated ones with the same tag). */
  readonly extra?: DicomDataSet;
}

const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';
const ENHANCED_CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2.1';

/**
 * The data set of an image object (CT by default) from known samples: what tests use to make series,
 * multi-frame objects and broken variants whose expected values are known by construction.
 */
export function imageDataSet(p: ImageDataSetParams): DicomDataSet {
  const spp = p.samplesPerPixel ?? 1;
  const bits = p.pixels.BYTES_PER_ELEMENT * 8;
  const signed =
    p.pixels instanceof Int8Array || p.pixels instanceof Int16Array || p.pixels instanceof Int32Array;
  const nFrames = p.frames ? p.frames.length : Math.max(1, p.pixels.length / (p.rows * p.columns * spp));
  const enhanced = p.frames !== undefined;
  const ds = formatDS;
  const out: DicomElementSpec[] = [
    el(0x00080008, 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL']),
    el(0x00080016, 'UI', p.sopClassUid ?? (enhanced ? ENHANCED_CT_IMAGE : CT_IMAGE)),
    el(0x00080018, 'UI', p.sopInstanceUid),
    el(0x00080060, 'CS', p.modality ?? 'CT'),
    el(0x0008103e, 'LO', p.seriesDescription ?? ''),
    el(0x00100010, 'PN', ''),
    el(0x00100020, 'LO', ''),
    el(0x0020000d, 'UI', p.studyInstanceUid),
    el(0x0020000e, 'UI', p.seriesInstanceUid),
    el(0x00200013, 'IS', String(p.instanceNumber ?? 1)),
    el(0x00280002, 'US', [spp]),
    el(0x00280004, 'CS', p.photometric ?? (spp === 3 ? 'RGB' : 'MONOCHROME2')),
    el(0x00280010, 'US', [p.rows]),
    el(0x00280011, 'US', [p.columns]),
    el(0x00280100, 'US', [bits]),
    el(0x00280101, 'US', [p.bitsStored ?? bits]),
    el(0x00280102, 'US', [(p.bitsStored ?? bits) - 1]),
    el(0x00280103, 'US', [signed ? 1 : 0]),
    el(0x7fe00010, bits === 8 ? 'OB' : 'OW', samplesToBytesLE(p.pixels)),
  ];
  if (spp === 3) out.push(el(0x00280006, 'US', [p.planarConfiguration ?? 0]));
  if (p.frameOfReference) out.push(el(0x00200052, 'UI', p.frameOfReference));
  if (nFrames > 1 || enhanced) out.push(el(0x00280008, 'IS', String(nFrames)));
  const rescale: DicomElementSpec[] = [
    ...(p.intercept !== undefined ? [el(0x00281052, 'DS', ds(p.intercept))] : []),
    ...(p.slope !== undefined ? [el(0x00281053, 'DS', ds(p.slope))] : []),
  ];
  const measures: DicomElementSpec[] = [
    ...(p.pixelSpacing ? [el(0x00280030, 'DS', p.pixelSpacing.map(ds))] : []),
    ...(p.sliceThickness !== undefined ? [el(0x00180050, 'DS', ds(p.sliceThickness))] : []),
  ];
  if (enhanced) {
    out.push(
      seq(0x52009229, [
        [
          ...(p.iop ? [seq(0x00209116, [[el(0x00200037, 'DS', p.iop.map(ds))]])] : []),
          ...(measures.length > 0 ? [seq(0x00289110, [measures])] : []),
          ...(rescale.length > 0 ? [seq(0x00289145, [rescale])] : []),
        ],
      ]),
      seq(
        0x52009230,
        (p.frames ?? []).map((f) => [seq(0x00209113, [[el(0x00200032, 'DS', f.ipp.map(ds))]])]),
      ),
    );
  } else {
    out.push(...rescale, ...measures);
    if (p.ipp) out.push(el(0x00200032, 'DS', p.ipp.map(ds)));
    if (p.iop) out.push(el(0x00200037, 'DS', p.iop.map(ds)));
  }
  const extraTags = new Set((p.extra ?? []).map((e) => e.tag));
  return [...out.filter((e) => !extraTags.has(e.tag)), ...(p.extra ?? [])];
}
