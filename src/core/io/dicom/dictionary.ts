/**
 * The DICOM vocabulary the reader and the writer share: transfer syntax and SOP class UIDs, the value
 * representations, and the tags the reader looks up. Nothing here parses or encodes.
 */

export const TS_IMPLICIT_LE = '1.2.840.10008.1.2';
export const TS_EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const TS_ENCAPSULATED_UNCOMPRESSED = '1.2.840.10008.1.2.1.98';
export const TS_DEFLATED_LE = '1.2.840.10008.1.2.1.99';
export const TS_EXPLICIT_BE = '1.2.840.10008.1.2.2';

/** Transfer syntaxes whose pixel data is stored uncompressed (native). */
export const NATIVE_TS: ReadonlySet<string> = new Set([
  TS_IMPLICIT_LE,
  TS_EXPLICIT_LE,
  TS_DEFLATED_LE,
  TS_EXPLICIT_BE,
]);

const TS_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K Lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
  '1.2.840.10008.1.2.4.100': 'MPEG2 video',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 video',
  '1.2.840.10008.1.2.4.110': 'JPEG XL Lossless',
};

export function transferSyntaxName(uid: string): string {
  const known: Readonly<Record<string, string>> = {
    [TS_IMPLICIT_LE]: 'Implicit VR Little Endian',
    [TS_EXPLICIT_LE]: 'Explicit VR Little Endian',
    [TS_ENCAPSULATED_UNCOMPRESSED]: 'Encapsulated Uncompressed Explicit VR Little Endian',
    [TS_DEFLATED_LE]: 'Deflated Explicit VR Little Endian',
    [TS_EXPLICIT_BE]: 'Explicit VR Big Endian',
    ...TS_NAMES,
  };
  const n = known[uid];
  return n ? `${n} (${uid})` : uid;
}
/** The DICOM Segmentation Storage SOP class. */
export const SOP_SEG = '1.2.840.10008.5.1.4.1.1.66.4';

export const DICOM_VRS = [
  'AE',
  'AS',
  'AT',
  'CS',
  'DA',
  'DS',
  'DT',
  'FD',
  'FL',
  'IS',
  'LO',
  'LT',
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'PN',
  'SH',
  'SL',
  'SQ',
  'SS',
  'ST',
  'SV',
  'TM',
  'UC',
  'UI',
  'UL',
  'UN',
  'UR',
  'US',
  'UT',
  'UV',
] as const;

export type DicomVR = (typeof DICOM_VRS)[number];

/** VRs whose explicit-VR header has two reserved bytes and a 32-bit length. */
export const LONG_VRS: ReadonlySet<string> = new Set<DicomVR>([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'SQ',
  'UC',
  'UN',
  'UR',
  'UT',
  'SV',
  'UV',
]);

/** Tags in dicom-parser's 'xggggeeee' form. */
export const TAG = {
  transferSyntax: 'x00020010',
  mediaSopClass: 'x00020002',
  mediaSopInstance: 'x00020003',
  directoryRecords: 'x00041220',
  charset: 'x00080005',
  sopClass: 'x00080016',
  sopInstance: 'x00080018',
  modality: 'x00080060',
  seriesDescription: 'x0008103e',
  sliceThickness: 'x00180050',
  spacingBetweenSlices: 'x00180088',
  imagerPixelSpacing: 'x00181164',
  usRegions: 'x00186011',
  physUnitsX: 'x00186024',
  physUnitsY: 'x00186026',
  physDeltaX: 'x0018602c',
  physDeltaY: 'x0018602e',
  studyUid: 'x0020000d',
  seriesUid: 'x0020000e',
  seriesNumber: 'x00200011',
  instanceNumber: 'x00200013',
  ipp: 'x00200032',
  iop: 'x00200037',
  frameOfReference: 'x00200052',
  frameContent: 'x00209111',
  planePosition: 'x00209113',
  planeOrientation: 'x00209116',
  samplesPerPixel: 'x00280002',
  photometric: 'x00280004',
  planarConfiguration: 'x00280006',
  numberOfFrames: 'x00280008',
  rows: 'x00280010',
  columns: 'x00280011',
  pixelSpacing: 'x00280030',
  bitsAllocated: 'x00280100',
  bitsStored: 'x00280101',
  pixelRepresentation: 'x00280103',
  intercept: 'x00281052',
  slope: 'x00281053',
  pixelMeasures: 'x00289110',
  pixelValueTransform: 'x00289145',
  gridFrameOffset: 'x3004000c',
  sharedGroups: 'x52009229',
  perFrameGroups: 'x52009230',
  floatPixelData: 'x7fe00008',
  doublePixelData: 'x7fe00009',
  pixelData: 'x7fe00010',
} as const;
