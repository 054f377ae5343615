/**
 * Parsing one DICOM Part-10 file (dicom-parser underneath) and reading its elements.
 *
 * Reading is strict by default: a file must have the preamble and 'DICM', a valid file meta group length
 * and element lengths that fit their VR. `lenient` accepts what dicom-parser can read and says so in the
 * notes. Truncated files are always refused. Deflated data sets are inflated here, under the budget.
 */
import dicomParser, { type DataSet, type Element } from 'dicom-parser';
import { AppError } from '../../errors';
import { inflateChecked } from '../compression';
import type { InputFile, ReadOptions } from '../types';
import {
  DICOM_VRS,
  LONG_VRS,
  TAG,
  TS_DEFLATED_LE,
  TS_EXPLICIT_BE,
  TS_EXPLICIT_LE,
  TS_IMPLICIT_LE,
} from './dictionary';

const VALID_VRS = new Set<string>(DICOM_VRS);
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

export function corrupt(name: string, msg: string): AppError {
  return new AppError('corrupt-file', `${name}: ${msg}`, { subject: name });
}

// ---------------------------------------------------------------------------------------------------------
// Parsing and validation

export function messageOf(e: unknown): string {
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
