/**
 * DICOM image reader (dicom-parser underneath). Files are grouped by SeriesInstanceUID; each series becomes
 * one volume in LPS: i along the row direction (first IOP triplet), j along the column direction, k along
 * the slice normal (row × column) in order of position. Slice spacing comes from the positions, never from
 * SliceThickness, and uneven gaps, mixed orientations or mixed sizes refuse the series rather than
 * produce a wrong volume. Multi-frame (enhanced) objects use their functional groups.
 *
 * Reading is strict by default: a file must have the preamble and 'DICM', a valid file meta group length
 * and element lengths that fit their VR. `lenient` accepts what dicom-parser can read and says so in the
 * notes. Truncated files are always refused. Uncompressed transfer syntaxes are decoded here; compressed
 * ones need an injected FrameDecoder (the viewer supplies one built on Cornerstone's codecs).
 */
import dicomParser, { type DataSet, type Element } from 'dicom-parser';
import { AppError, toAppError, type ErrorCode } from '../errors';
import type { Mat3, Modality, Vec3, Volume } from '../image/types';
import { checkBudget, guardAlloc } from './budget';
import { DICOM_VRS } from './dicom-write';
import { inflateChecked } from './metaimage';
import { samplesFromBytes, swapBytes, type SampleType } from './nrrd';
import type { InputFile, ReadOptions, ReadResult } from './types';

export const TS_IMPLICIT_LE = '1.2.840.10008.1.2';
export const TS_EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const TS_ENCAPSULATED_UNCOMPRESSED = '1.2.840.10008.1.2.1.98';
export const TS_DEFLATED_LE = '1.2.840.10008.1.2.1.99';
export const TS_EXPLICIT_BE = '1.2.840.10008.1.2.2';

const NATIVE_TS = new Set([TS_IMPLICIT_LE, TS_EXPLICIT_LE, TS_DEFLATED_LE, TS_EXPLICIT_BE]);

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

/** SOP classes that are not images: skipped with the reason given. */
const SOP_DICOMDIR = '1.2.840.10008.1.3.10';
export const SOP_SEG = '1.2.840.10008.5.1.4.1.1.66.4';
const SOP_LABELMAP_SEG = '1.2.840.10008.5.1.4.1.1.66.7';
const NON_IMAGE: readonly (readonly [string, string])[] = [
  [SOP_DICOMDIR, 'a DICOMDIR (a directory index, not an image). Load the image files it lists instead.'],
  [SOP_SEG, 'a DICOM Segmentation (SEG). Load it as the ground truth of its image series instead.'],
  [SOP_LABELMAP_SEG, 'a DICOM Label Map Segmentation. Load it as ground truth instead.'],
  [
    '1.2.840.10008.5.1.4.1.1.481.3',
    'an RT Structure Set (contours), which this app does not read. Convert it to DICOM SEG or NIfTI first.',
  ],
  ['1.2.840.10008.5.1.4.1.1.88.', 'a Structured Report (text, no pixels).'],
  ['1.2.840.10008.5.1.4.1.1.11.', 'a Presentation State (display settings, no pixels).'],
  ['1.2.840.10008.5.1.4.1.1.104.', 'an encapsulated document (PDF/CDA), not an image.'],
  ['1.2.840.10008.5.1.4.1.1.66', 'a raw-data, registration or fiducials object, not an image.'],
  ['1.2.840.10008.5.1.4.1.1.481.', 'an RT plan/treatment object, not an image.'],
];

/** Well-known image storage classes: a file of one of these without pixel data was cut short. */
const IMAGE_SOP_PREFIXES = [
  '1.2.840.10008.5.1.4.1.1.2', // CT, enhanced CT
  '1.2.840.10008.5.1.4.1.1.4', // MR, enhanced MR
  '1.2.840.10008.5.1.4.1.1.6.', // US
  '1.2.840.10008.5.1.4.1.1.3.1', // US multi-frame
  '1.2.840.10008.5.1.4.1.1.7', // secondary capture
  '1.2.840.10008.5.1.4.1.1.1', // CR/DX/MG
  '1.2.840.10008.5.1.4.1.1.128', // PET
  '1.2.840.10008.5.1.4.1.1.20', // NM
];

const VALID_VRS = new Set<string>(DICOM_VRS);
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const FIXED_SIZE: Readonly<Record<string, number>> = {
  AT: 4,
  FL: 4,
  FD: 8,
  SL: 4,
  SS: 2,
  UL: 4,
  US: 2,
  OD: 8,
  OF: 4,
  OL: 4,
  OV: 8,
  OW: 2,
  SV: 8,
  UV: 8,
};

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

/**
 * Decodes one compressed frame. Grey frames come back as one sample per pixel; colour frames as
 * interleaved RGB (the decoder does any YCbCr conversion). Integer samples keep their stored values;
 * rescale slope and intercept are applied by the reader.
 */
export interface FrameDecoder {
  (
    transferSyntax: string,
    encoded: Uint8Array,
    info: {
      rows: number;
      columns: number;
      bitsAllocated: number;
      pixelRepresentation: number;
      samplesPerPixel: number;
    },
  ): Promise<Int16Array | Uint16Array | Uint8Array | Float32Array>;
}

export interface DicomSeries {
  readonly result: ReadResult;
  readonly seriesUid: string;
  readonly studyUid: string;
  readonly description: string;
  readonly sopInstanceUids: readonly string[];
  readonly sopClassUid: string;
  readonly files: readonly string[];
}

/** A file or series that did not load, and why (`code` as in AppError). */
export interface DicomReadError {
  readonly name: string;
  readonly message: string;
  readonly code: ErrorCode;
}

export interface DicomReadOptions extends ReadOptions {
  readonly decoder?: FrameDecoder;
}

export interface ParsedDicom {
  readonly name: string;
  readonly dataSet: DataSet;
  readonly transferSyntax: string;
  readonly littleEndian: boolean;
  readonly notes: readonly string[];
  readonly mediaSopClassUid: string;
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  /** Bytes the data set's offsets refer to (the inflated stream for deflated files). */
  readonly bytes: Uint8Array;
}

/** True when the bytes carry the DICOM Part-10 marker: 'DICM' after a 128-byte preamble. */
export function isDicom(b: Uint8Array): boolean {
  return b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
}

// ---------------------------------------------------------------------------------------------------------
// Element access

export function str(ds: DataSet | undefined, tag: string): string {
  if (!ds?.elements[tag]) return '';
  return ds.string(tag) ?? '';
}

/** A multi-valued decimal/integer string (DS, IS) as numbers; undefined when absent or empty. */
export function nums(ds: DataSet | undefined, tag: string): number[] | undefined {
  const s = str(ds, tag);
  if (s === '') return undefined;
  return s.split('\\').map((x) => (x.trim() === '' ? NaN : Number(x)));
}

export function num(ds: DataSet | undefined, tag: string): number | undefined {
  return nums(ds, tag)?.[0];
}

export function u16(ds: DataSet | undefined, tag: string): number | undefined {
  const e = ds?.elements[tag];
  if (!ds || !e || e.length < 2) return undefined;
  return ds.uint16(tag);
}

export function items(ds: DataSet | undefined, tag: string): DataSet[] {
  const e = ds?.elements[tag];
  if (!e?.items) return [];
  const out: DataSet[] = [];
  for (const it of e.items) if (it.dataSet) out.push(it.dataSet);
  return out;
}

export function firstItem(ds: DataSet | undefined, tag: string): DataSet | undefined {
  return items(ds, tag)[0];
}

/** Text of an LO/SH/LT/UT element, decoded as UTF-8 when the file says ISO_IR 192, else Latin-1. */
export function text(ds: DataSet | undefined, tag: string, utf8: boolean): string {
  const e = ds?.elements[tag];
  if (!ds || !e || e.length === 0) return '';
  if (!utf8) return ds.string(tag) ?? '';
  const b = ds.byteArray.subarray(e.dataOffset, e.dataOffset + e.length);
  return new TextDecoder('utf-8').decode(b).replace(/[\0 ]+$/, '');
}

/**
 * The functional group macro `seqTag` for frame `f` of an enhanced multi-frame object: the per-frame item
 * when it has one, else the shared one.
 */
export function functionalGroup(ds: DataSet, f: number, seqTag: string): DataSet | undefined {
  const perFrame = ds.elements[TAG.perFrameGroups]?.items?.[f]?.dataSet;
  return firstItem(perFrame, seqTag) ?? firstItem(firstItem(ds, TAG.sharedGroups), seqTag);
}

function tagLabel(tag: string): string {
  return `(${tag.slice(1, 5).toUpperCase()},${tag.slice(5).toUpperCase()})`;
}

// ---------------------------------------------------------------------------------------------------------
// Parsing and validation

function messageOf(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'exception' in e) return messageOf(e.exception);
  return String(e);
}

const TRUNCATION = /past end|overrun|overread|beyond|eof|end of buffer|max ?p ?osition|sequence delimiter/i;

interface MetaCheck {
  readonly problem?: string;
  /** Offset of the first data set element (when the group length is valid). */
  readonly end?: number;
}

/** Checks the file meta group (explicit VR little endian after 'DICM'). Throws on truncation. */
function checkMetaGroup(b: Uint8Array, name: string): MetaCheck {
  const cut = (where: string) =>
    new AppError(
      'truncated-file',
      `${name} is cut short: it ends inside ${where}. Copy the file again from its source.`,
      {
        subject: name,
        detail: `${b.length} bytes`,
      },
    );
  if (b.length < 144) throw cut('its file meta header');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const vrAt = (o: number) => String.fromCharCode(b[o] ?? 0, b[o + 1] ?? 0);
  const isGroupLength =
    dv.getUint16(132, true) === 0x0002 &&
    dv.getUint16(134, true) === 0x0000 &&
    vrAt(136) === 'UL' &&
    dv.getUint16(138, true) === 4;
  if (!isGroupLength) return { problem: 'the file meta group length (0002,0000) is missing' };
  const groupLength = dv.getUint32(140, true);
  const end = 144 + groupLength;
  let pos = 144;
  while (pos < end) {
    if (pos + 8 > b.length) throw cut('its file meta header');
    const group = dv.getUint16(pos, true);
    const vr = vrAt(pos + 4);
    if (group !== 0x0002)
      return { problem: `the file meta group length ${groupLength} runs past the end of the meta group` };
    if (!VALID_VRS.has(vr)) return { problem: `a file meta element has an invalid VR '${vr}'` };
    let len: number;
    let head: number;
    if (LONG_VRS.has(vr)) {
      if (pos + 12 > b.length) throw cut('its file meta header');
      len = dv.getUint32(pos + 8, true);
      head = 12;
    } else {
      len = dv.getUint16(pos + 6, true);
      head = 8;
    }
    pos += head + len;
  }
  if (pos !== end)
    return { problem: `the file meta group length ${groupLength} does not end on an element boundary` };
  if (end + 2 <= b.length && dv.getUint16(end, true) === 0x0002)
    return { problem: `the file meta group length ${groupLength} is shorter than the meta group` };
  return { end };
}

interface ElementProblem {
  readonly truncated: boolean;
  readonly message: string;
}

/** Walks every element (into sequence items) for lengths that overrun the file or break their VR. */
function checkElements(ds: DataSet, explicit: boolean, limit: number): ElementProblem | null {
  for (const [tag, e] of Object.entries(ds.elements)) {
    const p = checkElement(tag, e, explicit, limit);
    if (p) return p;
    for (const it of e.items ?? []) {
      if (it.dataSet) {
        const q = checkElements(it.dataSet, explicit, limit);
        if (q) return q;
      }
    }
  }
  return null;
}

function checkElement(tag: string, e: Element, explicit: boolean, limit: number): ElementProblem | null {
  if (tag.startsWith('x0002') || tag.startsWith('xfffe')) return null; // meta group; item delimiters
  if (e.dataOffset + e.length > limit) {
    return {
      truncated: true,
      message: `element ${tagLabel(tag)} needs ${e.length} bytes at offset ${e.dataOffset}, past the end of the file (${limit} bytes)`,
    };
  }
  if (!explicit || e.hadUndefinedLength) return null;
  const vr = e.vr ?? '';
  if (!VALID_VRS.has(vr))
    return { truncated: false, message: `element ${tagLabel(tag)} has an invalid VR '${vr}'` };
  if (e.length % 2 !== 0)
    return {
      truncated: false,
      message: `element ${tagLabel(tag)} (VR ${vr}) has an odd length ${e.length}; DICOM values have even lengths`,
    };
  const size = FIXED_SIZE[vr];
  if (size && e.length % size !== 0)
    return {
      truncated: false,
      message: `element ${tagLabel(tag)} (VR ${vr}) has length ${e.length}, not a multiple of ${size}`,
    };
  return null;
}

/** Guesses the encoding of a raw data set without preamble or meta header (lenient reading only). */
function guessRawSyntax(b: Uint8Array): string | null {
  if (b.length < 8) return null;
  const group = (b[0] ?? 0) | ((b[1] ?? 0) << 8);
  if (group === 0 || group > 0x0010 || group % 2 !== 0) return null;
  const vr = String.fromCharCode(b[4] ?? 0, b[5] ?? 0);
  return VALID_VRS.has(vr) ? TS_EXPLICIT_LE : TS_IMPLICIT_LE;
}

function notDicom(name: string, b: Uint8Array): AppError {
  return new AppError(
    'corrupt-file',
    `${name} is not a DICOM file: there is no 'DICM' marker after the 128-byte preamble. Remove it from the selection, or if it is a raw DICOM data set, turn on lenient reading.`,
    { subject: name, detail: `${b.length} bytes` },
  );
}

/** Runs a dicom-parser call, turning what it throws into a typed error. */
function runParser<T>(fn: () => T, name: string): T {
  try {
    return fn();
  } catch (e) {
    const inner = typeof e === 'object' && e !== null && 'exception' in e ? e.exception : e;
    if (inner instanceof AppError) throw inner;
    const msg = messageOf(e);
    if (TRUNCATION.test(msg)) {
      throw new AppError(
        'truncated-file',
        `${name} is cut short (truncated) and cannot be read. Copy the file again from its source.`,
        { subject: name, detail: msg, cause: inner },
      );
    }
    throw new AppError(
      'corrupt-file',
      `${name} could not be parsed as DICOM (${msg}). Re-export it from its source.`,
      {
        subject: name,
        detail: msg,
        cause: inner,
      },
    );
  }
}

/**
 * Parses one DICOM file with the strict rules above (or leniently). Throws AppError: 'corrupt-file' for
 * anything not DICOM or broken, 'truncated-file' when the file ends early, 'size-budget' for deflated data
 * that inflates past the budget.
 */
export function parseDicomFile(file: InputFile, opts: ReadOptions = {}): ParsedDicom {
  const { name } = file;
  const b = file.bytes;
  const notes: string[] = [];
  const lenient = opts.lenient ?? false;
  let rawSyntax: string | undefined;
  if (!isDicom(b)) {
    const guess = lenient ? guessRawSyntax(b) : null;
    if (!guess) throw notDicom(name, b);
    rawSyntax = guess;
    notes.push(`${name} was read leniently: it has no DICOM preamble or file meta header.`);
  } else {
    const check = checkMetaGroup(b, name);
    if (check.problem) {
      if (!lenient) {
        throw new AppError(
          'corrupt-file',
          `${name} is not a valid DICOM file: ${check.problem}. Re-export it from its source, or turn on lenient reading.`,
          { subject: name, detail: check.problem },
        );
      }
      notes.push(`${name} was read leniently: ${check.problem}.`);
    }
  }
  let meta: DataSet | undefined;
  let metaEnd = 0;
  if (!rawSyntax) {
    const header = runParser(() => dicomParser.readPart10Header(b), name);
    meta = header;
    const pos = (header as unknown as { position?: unknown }).position;
    metaEnd = typeof pos === 'number' ? pos : b.length;
    if (metaEnd >= b.length) {
      throw new AppError(
        'truncated-file',
        `${name} is cut short: it ends right after its file meta header. Copy the file again from its source.`,
        { subject: name },
      );
    }
  }
  const transferSyntax = rawSyntax ?? str(meta, TAG.transferSyntax);
  if (!transferSyntax) {
    throw new AppError(
      'corrupt-file',
      `${name} has no transfer syntax (0002,0010) in its file meta header. Re-export it from its source.`,
      { subject: name },
    );
  }
  let ds: DataSet;
  let bytes: Uint8Array;
  if (transferSyntax === TS_DEFLATED_LE) {
    // Inflated here (not by dicom-parser) so the budget applies while inflating and offsets stay simple.
    const body = inflateChecked(b.subarray(metaEnd), name, opts, 'raw');
    if (body.length === 0) {
      throw new AppError('truncated-file', `${name} is cut short: its deflated data set is empty.`, {
        subject: name,
      });
    }
    bytes = body;
    ds = runParser(() => dicomParser.parseDicom(body, { TransferSyntaxUID: TS_EXPLICIT_LE }), name);
  } else {
    bytes = b;
    ds = runParser(() => dicomParser.parseDicom(b, rawSyntax ? { TransferSyntaxUID: rawSyntax } : {}), name);
  }
  const eof = ds.warnings.find((w) => TRUNCATION.test(w));
  if (eof) {
    throw new AppError(
      'truncated-file',
      `${name} is cut short (truncated): ${eof}. Copy the file again from its source.`,
      { subject: name, detail: eof },
    );
  }
  const problem = checkElements(ds, transferSyntax !== TS_IMPLICIT_LE, bytes.length);
  if (problem) {
    if (problem.truncated) {
      throw new AppError(
        'truncated-file',
        `${name} is cut short (truncated): ${problem.message}. Copy the file again from its source.`,
        { subject: name, detail: problem.message },
      );
    }
    if (!lenient) {
      throw new AppError(
        'corrupt-file',
        `${name} breaks the DICOM standard: ${problem.message}. Re-export it, or turn on lenient reading.`,
        { subject: name, detail: problem.message },
      );
    }
    notes.push(`${name} was read leniently: ${problem.message}.`);
  }
  if (transferSyntax === TS_EXPLICIT_BE) notes.push('Big-endian DICOM: bytes were swapped on read.');
  if (transferSyntax === TS_DEFLATED_LE) notes.push('Deflated DICOM: the data set was inflated on read.');
  return {
    name,
    dataSet: ds,
    transferSyntax,
    littleEndian: transferSyntax !== TS_EXPLICIT_BE,
    notes,
    mediaSopClassUid: str(meta, TAG.mediaSopClass),
    sopClassUid: str(ds, TAG.sopClass) || str(meta, TAG.mediaSopClass),
    sopInstanceUid: str(ds, TAG.sopInstance) || str(meta, TAG.mediaSopInstance),
    bytes,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Pixel module and frame geometry

export interface PixelInfo {
  readonly rows: number;
  readonly columns: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly pixelRepresentation: number;
  readonly samplesPerPixel: number;
  readonly planarConfiguration: number;
  readonly photometric: string;
  readonly frames: number;
}

function corrupt(name: string, msg: string): AppError {
  return new AppError('corrupt-file', `${name}: ${msg}`, { subject: name });
}

export function pixelInfo(p: ParsedDicom): PixelInfo {
  const ds = p.dataSet;
  const rows = u16(ds, TAG.rows) ?? 0;
  const columns = u16(ds, TAG.columns) ?? 0;
  const bitsAllocated = u16(ds, TAG.bitsAllocated) ?? 0;
  const bitsStored = u16(ds, TAG.bitsStored) ?? bitsAllocated;
  const pixelRepresentation = u16(ds, TAG.pixelRepresentation) ?? 0;
  const samplesPerPixel = u16(ds, TAG.samplesPerPixel) ?? 1;
  const planarConfiguration = u16(ds, TAG.planarConfiguration) ?? 0;
  const photometric = str(ds, TAG.photometric) || (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2');
  const framesRaw = num(ds, TAG.numberOfFrames);
  const frames = framesRaw ?? 1;
  const fix = ' Re-export the image from its source.';
  if (!(rows > 0 && columns > 0))
    throw corrupt(p.name, `the image size ${columns}×${rows} (Columns×Rows) is empty.${fix}`);
  if (![1, 8, 16, 32].includes(bitsAllocated))
    throw new AppError(
      'unsupported-format',
      `${p.name}: BitsAllocated ${bitsAllocated} is not supported (1, 8, 16 or 32).`,
      { subject: p.name },
    );
  if (!(bitsStored >= 1 && bitsStored <= bitsAllocated))
    throw corrupt(p.name, `BitsStored ${bitsStored} does not fit BitsAllocated ${bitsAllocated}.${fix}`);
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1)
    throw corrupt(p.name, `PixelRepresentation ${pixelRepresentation} must be 0 or 1.${fix}`);
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3)
    throw new AppError(
      'unsupported-format',
      `${p.name}: ${samplesPerPixel} samples per pixel is not supported (grey or RGB only).`,
      { subject: p.name },
    );
  if (!(Number.isInteger(frames) && frames >= 1))
    throw corrupt(p.name, `NumberOfFrames '${str(ds, TAG.numberOfFrames)}' is not a positive integer.${fix}`);
  return {
    rows,
    columns,
    bitsAllocated,
    bitsStored,
    pixelRepresentation,
    samplesPerPixel,
    planarConfiguration,
    photometric,
    frames,
  };
}

export interface FrameGeometry {
  readonly ipp?: Vec3;
  /** Unit row direction and column direction. */
  readonly iop?: readonly [Vec3, Vec3];
  /** [row spacing (between rows, along j), column spacing (along i)] in mm. */
  readonly pixelSpacing?: readonly [number, number];
  readonly sliceThickness?: number;
  readonly slope: number;
  readonly intercept: number;
}

function vec3(v: number[] | undefined, at = 0): Vec3 | undefined {
  if (!v || v.length < at + 3) return undefined;
  const out: Vec3 = [v[at] ?? NaN, v[at + 1] ?? NaN, v[at + 2] ?? NaN];
  return out.every(Number.isFinite) ? out : undefined;
}

function norm(v: Vec3): number {
  return Math.hypot(v[0], v[1], v[2]);
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function unit(v: Vec3): Vec3 {
  const n = norm(v) || 1;
  return [v[0] / n, v[1] / n, v[2] / n];
}

/** IOP as two unit vectors; refuses directions that are empty or not perpendicular. */
export function orientation(values: number[] | undefined, name: string): readonly [Vec3, Vec3] | undefined {
  const r = vec3(values, 0);
  const c = vec3(values, 3);
  if (!r || !c) return undefined;
  if (Math.abs(norm(r) - 1) > 0.01 || Math.abs(norm(c) - 1) > 0.01 || Math.abs(dot(r, c)) > 1e-3) {
    throw corrupt(
      name,
      `ImageOrientationPatient ${values?.join('\\') ?? ''} is not two perpendicular unit vectors. Re-export the image from its source.`,
    );
  }
  return [unit(r), unit(c)];
}

function spacingPair(values: number[] | undefined): readonly [number, number] | undefined {
  const a = values?.[0];
  const b = values?.[1];
  // A value like '1e400' parses to Infinity: not a pixel size.
  if (a === undefined || b === undefined || !(Number.isFinite(a) && a > 0) || !(Number.isFinite(b) && b > 0))
    return undefined;
  return [a, b];
}

function rescaleOf(ds: DataSet | undefined): { slope?: number; intercept?: number } {
  const slope = num(ds, TAG.slope);
  const intercept = num(ds, TAG.intercept);
  return {
    ...(slope !== undefined && Number.isFinite(slope) && slope !== 0 ? { slope } : {}),
    ...(intercept !== undefined && Number.isFinite(intercept) ? { intercept } : {}),
  };
}

/** Pixel size of images without PixelSpacing: the detector (ImagerPixelSpacing) or the US regions. */
function fallbackSpacing(ds: DataSet): { spacing: readonly [number, number]; note: string } | undefined {
  const imager = spacingPair(nums(ds, TAG.imagerPixelSpacing));
  if (imager) return { spacing: imager, note: 'Pixel size from ImagerPixelSpacing (at the detector).' };
  for (const region of items(ds, TAG.usRegions)) {
    const ux = u16(region, TAG.physUnitsX);
    const uy = u16(region, TAG.physUnitsY);
    const dx = region.elements[TAG.physDeltaX] ? region.double(TAG.physDeltaX) : undefined;
    const dy = region.elements[TAG.physDeltaY] ? region.double(TAG.physDeltaY) : undefined;
    // Units code 3 = centimetres.
    if (ux === 3 && uy === 3 && dx !== undefined && dy !== undefined && dx > 0 && dy > 0) {
      return {
        spacing: [Math.abs(dy) * 10, Math.abs(dx) * 10],
        note: 'Pixel size from the ultrasound region calibration.',
      };
    }
  }
  return undefined;
}

/** Geometry of every frame of a file (one for single-frame images). */
export function frameGeometries(p: ParsedDicom, frames: number): { geoms: FrameGeometry[]; notes: string[] } {
  const ds = p.dataSet;
  const notes: string[] = [];
  const topIpp = vec3(nums(ds, TAG.ipp));
  const topIop = orientation(nums(ds, TAG.iop), p.name);
  const topSpacing = spacingPair(nums(ds, TAG.pixelSpacing));
  const topThickness = num(ds, TAG.sliceThickness);
  const top = rescaleOf(ds);
  const perFrame = items(ds, TAG.perFrameGroups);
  const enhanced = perFrame.length > 0 || items(ds, TAG.sharedGroups).length > 0;
  if (enhanced && perFrame.length > 0 && perFrame.length < frames) {
    throw corrupt(
      p.name,
      `it declares ${frames} frames but describes only ${perFrame.length} in its per-frame functional groups. Re-export it from its source.`,
    );
  }
  const geoms: FrameGeometry[] = [];
  for (let f = 0; f < frames; f++) {
    if (enhanced) {
      const pos = vec3(nums(functionalGroup(ds, f, TAG.planePosition), TAG.ipp));
      const ori = orientation(nums(functionalGroup(ds, f, TAG.planeOrientation), TAG.iop), p.name);
      const measures = functionalGroup(ds, f, TAG.pixelMeasures);
      const sp = spacingPair(nums(measures, TAG.pixelSpacing));
      const th = num(measures, TAG.sliceThickness);
      const rs = rescaleOf(functionalGroup(ds, f, TAG.pixelValueTransform));
      const ipp = pos ?? (frames === 1 ? topIpp : undefined);
      const iop = ori ?? topIop;
      const pixelSpacing = sp ?? topSpacing;
      const sliceThickness = th ?? topThickness;
      geoms.push({
        ...(ipp ? { ipp } : {}),
        ...(iop ? { iop } : {}),
        ...(pixelSpacing ? { pixelSpacing } : {}),
        ...(sliceThickness !== undefined ? { sliceThickness } : {}),
        slope: rs.slope ?? top.slope ?? 1,
        intercept: rs.intercept ?? top.intercept ?? 0,
      });
      continue;
    }
    let ipp = topIpp;
    if (frames > 1) {
      // Legacy multi-frame: frames stacked along the normal by GridFrameOffsetVector or SpacingBetweenSlices.
      const offsets = nums(ds, TAG.gridFrameOffset);
      const step = num(ds, TAG.spacingBetweenSlices);
      const off =
        offsets?.length === frames ? offsets[f] : step !== undefined && step > 0 ? f * step : undefined;
      if (topIpp && topIop && off !== undefined && Number.isFinite(off)) {
        const n = cross(topIop[0], topIop[1]);
        ipp = [topIpp[0] + off * n[0], topIpp[1] + off * n[1], topIpp[2] + off * n[2]];
      } else {
        ipp = undefined;
      }
    }
    geoms.push({
      ...(ipp ? { ipp } : {}),
      ...(topIop ? { iop: topIop } : {}),
      ...(topSpacing ? { pixelSpacing: topSpacing } : {}),
      ...(topThickness !== undefined ? { sliceThickness: topThickness } : {}),
      slope: top.slope ?? 1,
      intercept: top.intercept ?? 0,
    });
  }
  if (frames > 1 && !enhanced && geoms.some((g) => !g.ipp))
    notes.push(
      `${p.name}: the ${frames} frames carry no positions; they are stacked 1 apart in frame order.`,
    );
  return { geoms, notes };
}

/** Why a parsed file is not an image this reader loads, or null. */
function nonImageReason(p: ParsedDicom): { reason: string; truncated: boolean } | null {
  const ds = p.dataSet;
  if (p.mediaSopClassUid === SOP_DICOMDIR || ds.elements[TAG.directoryRecords]) {
    return { reason: `${p.name} is ${NON_IMAGE[0]?.[1] ?? 'a DICOMDIR'}`, truncated: false };
  }
  for (const [prefix, why] of NON_IMAGE) {
    if (p.sopClassUid === prefix || (prefix.endsWith('.') && p.sopClassUid.startsWith(prefix)))
      return { reason: `${p.name} is ${why}`, truncated: false };
  }
  if (!ds.elements[TAG.pixelData]) {
    if (ds.elements[TAG.floatPixelData] || ds.elements[TAG.doublePixelData]) {
      return {
        reason: `${p.name} stores float pixel data (7FE0,0008/0009), which this app does not read. Convert it to NIfTI.`,
        truncated: false,
      };
    }
    if (IMAGE_SOP_PREFIXES.some((x) => p.sopClassUid.startsWith(x))) {
      return {
        reason: `${p.name} ends before its pixel data (truncated). Copy the file again from its source.`,
        truncated: true,
      };
    }
    return {
      reason: `${p.name} has no pixel data (SOP class ${p.sopClassUid || 'not given'}), so it is not an image.`,
      truncated: false,
    };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Pixel decoding

type Samples = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array;

function sampleType(info: PixelInfo): SampleType {
  const signed = info.pixelRepresentation === 1;
  if (info.bitsAllocated === 8) return signed ? 'int8' : 'uint8';
  if (info.bitsAllocated === 16) return signed ? 'int16' : 'uint16';
  return signed ? 'int32' : 'uint32';
}

/** Masks bits above BitsStored and sign-extends signed values (old files keep overlays up there). */
function maskStoredBits(s: Samples, info: PixelInfo): void {
  if (info.bitsStored >= info.bitsAllocated || s instanceof Float32Array) return;
  const bits = info.bitsStored;
  const mask = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  const sign = 2 ** (bits - 1);
  for (let i = 0; i < s.length; i++) {
    let v = (s[i] ?? 0) >>> 0;
    v = v % (mask + 1);
    if (info.pixelRepresentation === 1 && v >= sign) v -= mask + 1;
    s[i] = v;
  }
}

function nativeFrame(p: ParsedDicom, info: PixelInfo, f: number): Samples {
  const el = p.dataSet.elements[TAG.pixelData];
  if (!el) throw corrupt(p.name, 'no pixel data.');
  const perFrame = info.rows * info.columns * info.samplesPerPixel;
  if (info.bitsAllocated === 1) {
    const out = new Uint8Array(perFrame);
    const bit0 = f * perFrame;
    for (let i = 0; i < perFrame; i++) {
      const bit = bit0 + i;
      out[i] = ((p.bytes[el.dataOffset + (bit >>> 3)] ?? 0) >> (bit & 7)) & 1;
    }
    return out;
  }
  const size = info.bitsAllocated / 8;
  const start = el.dataOffset + f * perFrame * size;
  let raw = p.bytes.subarray(start, start + perFrame * size);
  if (!p.littleEndian && size === 1 && el.vr === 'OW') {
    // 8-bit samples in OW are stored as byte-swapped 16-bit words in big endian.
    raw = raw.slice();
    swapBytes(raw, 2);
  }
  const s = samplesFromBytes(raw, sampleType(info), p.littleEndian) as Samples;
  maskStoredBits(s, info);
  return s;
}

function encapsulatedFrame(p: ParsedDicom, f: number, frames: number): Uint8Array {
  const ds = p.dataSet;
  const el = ds.elements[TAG.pixelData];
  if (!el?.encapsulatedPixelData || !el.fragments)
    throw corrupt(p.name, 'its compressed pixel data has no fragments.');
  try {
    let out: Uint8Array;
    if (el.basicOffsetTable && el.basicOffsetTable.length > 0) {
      out = dicomParser.readEncapsulatedImageFrame(ds, el, f) as Uint8Array;
    } else if (frames === 1) {
      out = dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, el.fragments.length) as Uint8Array;
    } else if (el.fragments.length === frames) {
      out = dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, f, 1) as Uint8Array;
    } else {
      const table = dicomParser.createJPEGBasicOffsetTable(ds, el);
      out = dicomParser.readEncapsulatedImageFrame(ds, el, f, table) as Uint8Array;
    }
    return out;
  } catch (e) {
    throw new AppError(
      'corrupt-file',
      `${p.name}: frame ${f + 1} of its compressed pixel data cannot be found (${messageOf(e)}). Re-export it from its source.`,
      { subject: p.name, detail: messageOf(e), cause: e },
    );
  }
}

async function frameSamples(
  p: ParsedDicom,
  info: PixelInfo,
  f: number,
  decoder: FrameDecoder | undefined,
): Promise<Samples> {
  const expected = info.rows * info.columns * info.samplesPerPixel;
  let s: Samples;
  if (NATIVE_TS.has(p.transferSyntax)) {
    s = nativeFrame(p, info, f);
  } else if (p.transferSyntax === TS_ENCAPSULATED_UNCOMPRESSED) {
    const raw = encapsulatedFrame(p, f, info.frames);
    if (raw.length < expected * (info.bitsAllocated / 8))
      throw corrupt(p.name, `frame ${f + 1} holds ${raw.length} bytes, fewer than its size needs.`);
    s = samplesFromBytes(
      raw.subarray(0, expected * (info.bitsAllocated / 8)),
      sampleType(info),
      true,
    ) as Samples;
    maskStoredBits(s, info);
  } else {
    if (!decoder) {
      throw new AppError(
        'unsupported-format',
        `${p.name} is compressed with ${transferSyntaxName(p.transferSyntax)}, which needs an image decoder that is not available here. Open it in the viewer, or convert the series to uncompressed DICOM or NIfTI.`,
        { subject: p.name, detail: p.transferSyntax },
      );
    }
    const encoded = encapsulatedFrame(p, f, info.frames);
    try {
      s = await decoder(p.transferSyntax, encoded, {
        rows: info.rows,
        columns: info.columns,
        bitsAllocated: info.bitsAllocated,
        pixelRepresentation: info.pixelRepresentation,
        samplesPerPixel: info.samplesPerPixel,
      });
    } catch (e) {
      throw new AppError(
        'corrupt-file',
        `${p.name}: frame ${f + 1} could not be decoded (${transferSyntaxName(p.transferSyntax)}): ${messageOf(e)}. The file may be damaged; re-export it from its source.`,
        { subject: p.name, detail: messageOf(e), cause: e },
      );
    }
  }
  if (s.length !== expected) {
    throw corrupt(
      p.name,
      `frame ${f + 1} decoded to ${s.length} samples, but ${info.columns}×${info.rows}×${info.samplesPerPixel} = ${expected} were expected.`,
    );
  }
  return s;
}

/** Interleaved 8-bit RGB from a colour frame (planar configuration and YBR_FULL handled). */
function toRgb(s: Samples, info: PixelInfo, native: boolean): Uint8Array {
  const n = info.rows * info.columns;
  const rgb = new Uint8Array(n * 3);
  const planar = native && info.planarConfiguration === 1;
  const ybr = native && info.photometric === 'YBR_FULL';
  const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  for (let i = 0; i < n; i++) {
    const a = (planar ? s[i] : s[3 * i]) ?? 0;
    const b = (planar ? s[n + i] : s[3 * i + 1]) ?? 0;
    const c = (planar ? s[2 * n + i] : s[3 * i + 2]) ?? 0;
    if (ybr) {
      rgb[3 * i] = clamp(a + 1.402 * (c - 128));
      rgb[3 * i + 1] = clamp(a - 0.344136 * (b - 128) - 0.714136 * (c - 128));
      rgb[3 * i + 2] = clamp(a + 1.772 * (b - 128));
    } else {
      rgb[3 * i] = a;
      rgb[3 * i + 1] = b;
      rgb[3 * i + 2] = c;
    }
  }
  return rgb;
}

/** Output buffer that starts as uint8 or int16 and turns into float32 the first time a value does not fit. */
class Assembler {
  data: Uint8Array | Int16Array | Float32Array;
  constructor(
    n: number,
    kind: 'u8' | 'i16' | 'f32',
    private readonly name: string,
  ) {
    this.data = guardAlloc(name, () =>
      kind === 'u8' ? new Uint8Array(n) : kind === 'i16' ? new Int16Array(n) : new Float32Array(n),
    );
  }

  put(offset: number, s: Samples, slope: number, intercept: number): void {
    for (let i = 0; i < s.length; i++) {
      const v = (s[i] ?? 0) * slope + intercept;
      const d = this.data;
      if (d instanceof Float32Array) {
        d[offset + i] = v;
        continue;
      }
      const fits =
        Number.isInteger(v) && (d instanceof Int16Array ? v >= -32768 && v <= 32767 : v >= 0 && v <= 255);
      if (!fits) this.data = guardAlloc(this.name, () => Float32Array.from(d));
      this.data[offset + i] = v;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Series assembly

interface ImageFile {
  readonly parsed: ParsedDicom;
  readonly info: PixelInfo;
  readonly geoms: readonly FrameGeometry[];
  readonly notes: readonly string[];
  readonly index: number;
  readonly seriesUid: string;
  readonly studyUid: string;
  readonly description: string;
  readonly frameOfReference: string;
  readonly modality: string;
  readonly instanceNumber: number;
  readonly seriesNumber: number;
  readonly fallbackSpacing?: { spacing: readonly [number, number]; note: string };
}

function describeImage(p: ParsedDicom, index: number, opts: ReadOptions): ImageFile {
  const info = pixelInfo(p);
  const ds = p.dataSet;
  const pixelBytes = Math.ceil(
    (info.rows * info.columns * info.samplesPerPixel * info.frames * info.bitsAllocated) / 8,
  );
  checkBudget(pixelBytes, p.name, opts);
  const el = ds.elements[TAG.pixelData];
  if (el && !el.encapsulatedPixelData) {
    if (!NATIVE_TS.has(p.transferSyntax)) {
      throw corrupt(
        p.name,
        `its transfer syntax ${transferSyntaxName(p.transferSyntax)} is compressed, but the pixel data is not encapsulated. Re-export it from its source.`,
      );
    }
    if (el.length < pixelBytes) {
      throw corrupt(
        p.name,
        `the pixel data holds ${el.length} bytes, but ${info.columns}×${info.rows}×${info.frames} frame(s) at ${info.bitsAllocated} bits need ${pixelBytes}. Re-export it from its source.`,
      );
    }
  } else if (el && NATIVE_TS.has(p.transferSyntax)) {
    throw corrupt(
      p.name,
      `its pixel data is encapsulated but the transfer syntax ${transferSyntaxName(p.transferSyntax)} is uncompressed. Re-export it from its source.`,
    );
  }
  const { geoms, notes } = frameGeometries(p, info.frames);
  const fb = geoms.every((g) => !g.pixelSpacing) ? fallbackSpacing(ds) : undefined;
  const seriesNumber = num(ds, TAG.seriesNumber);
  const instanceNumber = num(ds, TAG.instanceNumber);
  return {
    parsed: p,
    info,
    geoms,
    notes: [...p.notes, ...notes],
    index,
    seriesUid: str(ds, TAG.seriesUid),
    studyUid: str(ds, TAG.studyUid),
    description: str(ds, TAG.seriesDescription),
    frameOfReference: str(ds, TAG.frameOfReference),
    modality: str(ds, TAG.modality).toUpperCase(),
    instanceNumber: instanceNumber !== undefined && Number.isFinite(instanceNumber) ? instanceNumber : index,
    seriesNumber: seriesNumber !== undefined && Number.isFinite(seriesNumber) ? seriesNumber : Infinity,
    ...(fb ? { fallbackSpacing: fb } : {}),
  };
}

interface Slice {
  readonly file: ImageFile;
  readonly frame: number;
  readonly geom: FrameGeometry;
}

interface StackGeometry {
  readonly order: readonly Slice[];
  readonly origin: Vec3;
  readonly direction: Mat3;
  readonly spacing: Vec3;
  readonly spacingKnown: boolean;
  readonly notes: readonly string[];
}

function seriesError(label: string, msg: string): AppError {
  return new AppError('corrupt-file', `Series ${label}: ${msg}`, { subject: label });
}

function stackGeometry(slices: readonly Slice[], label: string): StackGeometry {
  const notes: string[] = [];
  const first = slices[0];
  if (!first) throw seriesError(label, 'no images.');
  const spacings = slices.map((s) => s.geom.pixelSpacing);
  const sp0 = spacings[0];
  if (sp0) {
    for (const sp of spacings) {
      if (!sp || Math.abs(sp[0] - sp0[0]) > 1e-3 * sp0[0] || Math.abs(sp[1] - sp0[1]) > 1e-3 * sp0[1]) {
        throw seriesError(
          label,
          `its images have different pixel sizes (${sp0.join('×')} mm and ${sp?.join('×') ?? 'none'}). Load one series at a time, or split it with a DICOM tool.`,
        );
      }
    }
  }
  const fb = first.file.fallbackSpacing;
  const pixel = sp0 ?? fb?.spacing;
  if (!sp0 && fb) notes.push(fb.note);
  const withPos = slices.filter((s) => s.geom.ipp && s.geom.iop).length;
  if (withPos > 0 && withPos < slices.length) {
    throw seriesError(
      label,
      `${slices.length - withPos} of its ${slices.length} images have no position or orientation, so they cannot be stacked. Load the images that belong together.`,
    );
  }
  if (withPos === 0) {
    const order = [...slices].sort(
      (a, b) =>
        a.file.instanceNumber - b.file.instanceNumber || a.file.index - b.file.index || a.frame - b.frame,
    );
    if (order.length > 1)
      notes.push('The images carry no positions: stacked 1 apart in instance-number order.');
    return {
      order,
      origin: [0, 0, 0],
      direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
      spacing: [pixel?.[1] ?? 1, pixel?.[0] ?? 1, 1],
      spacingKnown: pixel !== undefined,
      notes,
    };
  }
  const [row, col] = first.geom.iop ?? [
    [1, 0, 0],
    [0, 1, 0],
  ];
  for (const s of slices) {
    const [r, c] = s.geom.iop ?? [row, col];
    if (
      [0, 1, 2].some(
        (i) => Math.abs((r[i] ?? 0) - (row[i] ?? 0)) > 1e-3 || Math.abs((c[i] ?? 0) - (col[i] ?? 0)) > 1e-3,
      )
    ) {
      throw seriesError(
        label,
        `its images have different orientations (ImageOrientationPatient). Load one stack at a time, or split the series with a DICOM tool.`,
      );
    }
  }
  const normal = unit(cross(row, col));
  const proj = (s: Slice) => dot(s.geom.ipp ?? [0, 0, 0], normal);
  const order = [...slices].sort((a, b) => proj(a) - proj(b));
  const o = order[0];
  const ipp0 = o?.geom.ipp ?? [0, 0, 0];
  const n = order.length;
  let kSpacing =
    first.geom.sliceThickness !== undefined && first.geom.sliceThickness > 0 ? first.geom.sliceThickness : 1;
  if (n > 1) {
    const positions = order.map(proj);
    const p0 = positions[0] ?? 0;
    const span = (positions[n - 1] ?? 0) - p0;
    kSpacing = span / (n - 1);
    const gaps = positions.slice(1).map((x, i) => x - (positions[i] ?? 0));
    const minGap = Math.min(...gaps);
    const maxGap = Math.max(...gaps);
    if (!(kSpacing > 1e-6) || minGap < 1e-3 * Math.max(kSpacing, 1e-3)) {
      throw seriesError(
        label,
        `several images lie at the same position (a series with several phases, echoes or acquisitions). Load one acquisition at a time.`,
      );
    }
    if (gaps.some((g) => Math.abs(g - kSpacing) > 0.01 * kSpacing)) {
      throw seriesError(
        label,
        `its slices are not evenly spaced (gaps from ${minGap.toFixed(3)} to ${maxGap.toFixed(3)} mm); a slice may be missing. Load the complete series.`,
      );
    }
    const tol = 0.1 * Math.min(pixel?.[0] ?? 1, pixel?.[1] ?? 1);
    for (const s of order) {
      const q = s.geom.ipp ?? ipp0;
      const along = proj(s) - p0;
      const off = [0, 1, 2].map((i) => (q[i] ?? 0) - (ipp0[i] ?? 0) - along * (normal[i] ?? 0));
      if (Math.hypot(...off) > tol) {
        throw new AppError(
          'unsupported-format',
          `Series ${label}: its slices are sheared (gantry tilt or a non-perpendicular stack), which this app does not resample. Reconstruct the series without tilt, or convert it with a tool that resamples.`,
          { subject: label },
        );
      }
    }
  }
  return {
    order,
    origin: ipp0,
    direction: [row[0], row[1], row[2], col[0], col[1], col[2], normal[0], normal[1], normal[2]],
    spacing: [pixel?.[1] ?? 1, pixel?.[0] ?? 1, kSpacing],
    spacingKnown: pixel !== undefined,
    notes,
  };
}

function modalityOf(m: string, opts: ReadOptions): Modality {
  if (m === 'CT' || m === 'MR' || m === 'US') return m;
  return opts.modality ?? 'OT';
}

async function buildSeries(
  group: readonly ImageFile[],
  label: string,
  opts: DicomReadOptions,
): Promise<DicomSeries> {
  const first = group[0];
  if (!first) throw seriesError(label, 'no images.');
  const info0 = first.info;
  for (const f of group) {
    if (
      f.info.rows !== info0.rows ||
      f.info.columns !== info0.columns ||
      f.info.samplesPerPixel !== info0.samplesPerPixel
    ) {
      throw seriesError(
        label,
        `its images have different sizes (${info0.columns}×${info0.rows} and ${f.info.columns}×${f.info.rows}, ${f.parsed.name}). Load one image size at a time.`,
      );
    }
  }
  const slices: Slice[] = group.flatMap((file) => file.geoms.map((geom, frame) => ({ file, frame, geom })));
  const geo = stackGeometry(slices, label);
  const notes: string[] = [...new Set(group.flatMap((f) => f.notes)), ...geo.notes];
  const colour = info0.samplesPerPixel === 3;
  let order = geo.order;
  if (colour && order.length > 1) {
    notes.push(`Colour ${order.length}-frame image: only the first frame is shown.`);
    order = order.slice(0, 1);
  }
  const perSlice = info0.rows * info0.columns;
  const n = perSlice * order.length;
  const allU8 = order.every(
    (s) =>
      s.file.info.bitsAllocated === 8 &&
      s.file.info.pixelRepresentation === 0 &&
      s.geom.slope === 1 &&
      s.geom.intercept === 0,
  );
  const integral = order.every((s) => Number.isInteger(s.geom.slope) && Number.isInteger(s.geom.intercept));
  const kind = colour || allU8 ? 'u8' : integral ? 'i16' : 'f32';
  checkBudget(n * (kind === 'u8' ? 1 : kind === 'i16' ? 2 : 4), `Series ${label}`, opts);
  const out = new Assembler(n, kind, label);
  let rgb: Uint8Array | undefined;
  for (let k = 0; k < order.length; k++) {
    const s = order[k];
    if (!s) continue;
    const samples = await frameSamples(s.file.parsed, s.file.info, s.frame, opts.decoder);
    if (colour) {
      rgb = toRgb(samples, s.file.info, NATIVE_TS.has(s.file.parsed.transferSyntax));
      const luma = new Uint8Array(perSlice);
      for (let i = 0; i < perSlice; i++)
        luma[i] = Math.round(
          0.299 * (rgb[3 * i] ?? 0) + 0.587 * (rgb[3 * i + 1] ?? 0) + 0.114 * (rgb[3 * i + 2] ?? 0),
        );
      out.put(0, luma, 1, 0);
    } else {
      out.put(k * perSlice, samples, s.geom.slope, s.geom.intercept);
    }
  }
  const rescaled = order.some((s) => s.geom.slope !== 1 || s.geom.intercept !== 0);
  if (rescaled) {
    const s0 = order[0]?.geom;
    const same = order.every((s) => s.geom.slope === s0?.slope && s.geom.intercept === s0.intercept);
    notes.push(
      same && s0
        ? `Values rescaled by slope ${s0.slope} and intercept ${s0.intercept}.`
        : 'Values rescaled by each slice’s own slope and intercept.',
    );
  }
  if (info0.photometric === 'MONOCHROME1')
    notes.push('MONOCHROME1: low values are meant to display bright; values are kept as stored.');
  const modality = modalityOf(first.modality, opts);
  const frameOfReference = first.frameOfReference;
  const volume: Volume = {
    dims: [info0.columns, info0.rows, order.length],
    spacing: geo.spacing,
    spacingKnown: geo.spacingKnown,
    origin: geo.origin,
    direction: geo.direction,
    data: out.data,
    modality,
    ...(frameOfReference ? { frameOfReference } : {}),
  };
  const result: ReadResult = {
    volume,
    format: 'dicom',
    notes,
    is8bit: out.data instanceof Uint8Array,
    ...(rgb ? { rgb } : {}),
    ...(frameOfReference ? { frameOfReference } : {}),
    modality,
  };
  const files = [...new Set(order.map((s) => s.file))];
  return {
    result,
    seriesUid: first.seriesUid,
    studyUid: first.studyUid,
    description: first.description,
    sopInstanceUids: files.map((f) => f.parsed.sopInstanceUid),
    sopClassUid: first.parsed.sopClassUid,
    files: files.map((f) => f.parsed.name),
  };
}

/**
 * Reads every DICOM image among `files`, one volume per series. Files that are not DICOM images, and
 * series that cannot form a correct volume, end up in `errors` with the reason; the rest still load.
 */
export async function readDicomSeries(
  files: readonly InputFile[],
  opts: DicomReadOptions = {},
): Promise<{ series: DicomSeries[]; errors: DicomReadError[] }> {
  const errors: DicomReadError[] = [];
  const images: ImageFile[] = [];
  files.forEach((f, index) => {
    try {
      const p = parseDicomFile(f, opts);
      const skip = nonImageReason(p);
      if (skip) {
        errors.push({
          name: f.name,
          message: skip.reason,
          code: skip.truncated ? 'truncated-file' : 'unsupported-format',
        });
        return;
      }
      const img = describeImage(p, index, opts);
      images.push(img);
    } catch (e) {
      const err = toAppError(e, 'corrupt-file', f.name);
      errors.push({ name: f.name, message: err.message, code: err.code });
    }
  });
  const groups = new Map<string, ImageFile[]>();
  for (const img of images) {
    const key = img.seriesUid || `no-uid|${img.frameOfReference}|${img.seriesNumber}|${img.description}`;
    const g = groups.get(key);
    if (g) g.push(img);
    else groups.set(key, [img]);
  }
  const ordered = [...groups.values()].sort(
    (a, b) =>
      (a[0]?.seriesNumber ?? 0) - (b[0]?.seriesNumber ?? 0) || (a[0]?.index ?? 0) - (b[0]?.index ?? 0),
  );
  const series: DicomSeries[] = [];
  for (const group of ordered) {
    const first = group[0];
    if (!first) continue;
    const label = `"${first.description || first.seriesUid || first.parsed.name}" (${group.length} file${group.length === 1 ? '' : 's'})`;
    try {
      series.push(await buildSeries(group, label, opts));
    } catch (e) {
      const err = toAppError(e, 'corrupt-file', `Series ${label}`);
      errors.push({ name: `Series ${label}`, message: err.message, code: err.code });
    }
  }
  return { series, errors };
}
