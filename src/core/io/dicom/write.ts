/**
 * A small DICOM Part-10 encoder: explicit or implicit VR little endian, explicit VR big endian and deflated
 * explicit VR little endian, with defined- or undefined-length sequences. It writes what the DICOM SEG
 * exporter needs and lets tests (core/testing/dicom.ts) build CT slices, multi-frame objects and
 * deliberately broken variants from known arrays. No reader imports it. Elements are sorted by tag within
 * every data set, as the standard requires.
 */
import { deflateSync } from 'fflate';
import { AppError } from '../../errors';
import { stringHash } from '../../hash';
import {
  LONG_VRS,
  TS_DEFLATED_LE,
  TS_EXPLICIT_BE,
  TS_EXPLICIT_LE,
  TS_IMPLICIT_LE,
  type DicomVR,
} from './dictionary';

/** Bytes written exactly as given: no padding, no byte swapping (for tests that need malformed files). */
export interface RawValue {
  readonly raw: Uint8Array;
}

/**
 * A value: text (multi-valued as an array, joined with '\'), numbers for binary VRs (US, SS, UL, SL, FL,
 * FD, AT as 0xGGGGEEEE), bytes for OB/OW/OF/OD/OL/UN (little-endian order; swapped for big endian), or
 * sequence items.
 */
export type DicomValue =
  | string
  | readonly string[]
  | readonly number[]
  | Uint8Array
  | RawValue
  | EncapsulatedValue
  | { readonly items: readonly DicomDataSet[] };

/** Encapsulated (compressed) pixel data: an empty basic offset table, then one fragment per entry. */
export interface EncapsulatedValue {
  readonly fragments: readonly Uint8Array[];
}

export interface DicomElementSpec {
  /** 0xGGGGEEEE */
  readonly tag: number;
  readonly vr: DicomVR;
  readonly value: DicomValue;
}

export type DicomDataSet = readonly DicomElementSpec[];

/** The implementation class UID this app writes in every file meta header (fixed, under the 2.25 root). */
export const IMPLEMENTATION_CLASS_UID = uidFromSeed('sam-compare implementation class');
export const IMPLEMENTATION_VERSION = 'SAMCOMPARE_1';

const UNDEFINED = 0xffffffff;

export function el(tag: number, vr: DicomVR, value: DicomValue): DicomElementSpec {
  return { tag, vr, value };
}

export function seq(tag: number, items: readonly DicomDataSet[]): DicomElementSpec {
  return { tag, vr: 'SQ', value: { items } };
}

/**
 * A DICOM UID under the 2.25 root (ISO/IEC 9834-8 UUID-derived form): '2.25.' and the decimal of a
 * 128-bit number. Here the number is a hash of `seed`, so the same seed always gives the same UID.
 */
export function uidFromSeed(seed: string): string {
  const hex = [0, 1].map((lane) => stringHash(`${lane}:${seed}`)).join('');
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}

/** A DS value in at most 16 characters. */
export function formatDS(x: number): string {
  if (!Number.isFinite(x))
    throw new AppError('invalid-argument', `Cannot write ${x} as a DICOM decimal string.`);
  if (Math.abs(x) < 1e-12) return '0';
  for (let p = 17; p >= 1; p--) {
    const s = String(Number(x.toPrecision(p)));
    if (s.length <= 16) return s;
  }
  return x.toExponential(6);
}

export interface EncodeOptions {
  /** Transfer syntax of the data set (default explicit VR little endian). */
  readonly transferSyntax?: string;
  /** Write the 128-byte preamble and 'DICM' (default true). */
  readonly preamble?: boolean;
  /** Write the (0002,0000) group length (default true); a number writes that (possibly wrong) value. */
  readonly groupLength?: boolean | number;
  /** Write sequences and items with undefined length and delimiters (default false). */
  readonly undefinedLengthSequences?: boolean;
  /** Media storage SOP class and instance UIDs (default: the data set's (0008,0016) and (0008,0018)). */
  readonly mediaStorageSopClassUid?: string;
  readonly mediaStorageSopInstanceUid?: string;
}

class ByteSink {
  private buf = new Uint8Array(1024);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  u16(v: number, le: boolean): void {
    this.ensure(2);
    new DataView(this.buf.buffer).setUint16(this.length, v, le);
    this.length += 2;
  }

  u32(v: number, le: boolean): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setUint32(this.length, v, le);
    this.length += 4;
  }

  /** Overwrites a 32-bit value already written (a length known only after its content). */
  patchU32(at: number, v: number, le: boolean): void {
    new DataView(this.buf.buffer).setUint32(at, v, le);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function isItems(v: DicomValue): v is { readonly items: readonly DicomDataSet[] } {
  return typeof v === 'object' && 'items' in v;
}

function isEncapsulated(v: DicomValue): v is EncapsulatedValue {
  return typeof v === 'object' && 'fragments' in v;
}

function isRaw(v: DicomValue): v is RawValue {
  return typeof v === 'object' && 'raw' in v;
}

function swapped(b: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(b.length);
  out.set(b);
  if (size <= 1) return out;
  for (let i = 0; i + size <= out.length; i += size) {
    for (let a = 0; a < size; a++) out[i + a] = b[i + size - 1 - a] ?? 0;
  }
  return out;
}

const BYTE_SIZE: Partial<Record<DicomVR, number>> = { OW: 2, OF: 4, OL: 4, OD: 8, OV: 8 };

/** The value field of a non-sequence element, padded to even length. */
function valueBytes(e: DicomElementSpec, le: boolean): Uint8Array {
  const v = e.value;
  if (isRaw(v)) return v.raw;
  if (isItems(v) || isEncapsulated(v)) throw new Error(`(${tagText(e.tag)}) has items but VR ${e.vr}`);
  if (v instanceof Uint8Array) {
    const b = le ? v : swapped(v, BYTE_SIZE[e.vr] ?? 1);
    if (b.length % 2 === 0) return b;
    const padded = new Uint8Array(b.length + 1);
    padded.set(b);
    return padded;
  }
  if (typeof v !== 'string' && v.length === 0) return new Uint8Array(0);
  if (typeof v === 'string' || typeof v[0] === 'string') {
    const text = typeof v === 'string' ? v : (v as readonly string[]).join('\\');
    const b = new TextEncoder().encode(text);
    if (b.length % 2 === 0) return b;
    const padded = new Uint8Array(b.length + 1);
    padded.set(b);
    padded[b.length] = e.vr === 'UI' || e.vr === 'OB' ? 0 : 0x20;
    return padded;
  }
  const nums = v as readonly number[];
  const size = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, AT: 4, SV: 8, UV: 8 }[e.vr as string] ?? 0;
  if (size === 0) throw new Error(`(${tagText(e.tag)}) VR ${e.vr} cannot hold numbers; give a string`);
  const out = new Uint8Array(nums.length * size);
  const dv = new DataView(out.buffer);
  nums.forEach((x, i) => {
    const o = i * size;
    switch (e.vr) {
      case 'US':
        dv.setUint16(o, x, le);
        break;
      case 'SS':
        dv.setInt16(o, x, le);
        break;
      case 'UL':
        dv.setUint32(o, x, le);
        break;
      case 'SL':
        dv.setInt32(o, x, le);
        break;
      case 'FL':
        dv.setFloat32(o, x, le);
        break;
      case 'FD':
        dv.setFloat64(o, x, le);
        break;
      case 'AT':
        dv.setUint16(o, x >>> 16, le);
        dv.setUint16(o + 2, x & 0xffff, le);
        break;
      case 'SV':
        dv.setBigInt64(o, BigInt(x), le);
        break;
      default:
        dv.setBigUint64(o, BigInt(x), le);
    }
  });
  return out;
}

function tagText(tag: number): string {
  const h = (tag >>> 0).toString(16).padStart(8, '0').toUpperCase();
  return `${h.slice(0, 4)},${h.slice(4)}`;
}

interface Encoding {
  readonly explicit: boolean;
  readonly le: boolean;
  readonly undefinedSeq: boolean;
}

function writeTag(s: ByteSink, tag: number, le: boolean): void {
  s.u16(tag >>> 16, le);
  s.u16(tag & 0xffff, le);
}

function writeDataSet(s: ByteSink, ds: DicomDataSet, enc: Encoding): void {
  const sorted = [...ds].sort((a, b) => (a.tag >>> 0) - (b.tag >>> 0));
  for (const e of sorted) writeElement(s, e, enc);
}

function writeElement(s: ByteSink, e: DicomElementSpec, enc: Encoding): void {
  const { le } = enc;
  writeTag(s, e.tag, le);
  const header = (length: number): number => {
    if (enc.explicit) {
      s.bytes(new TextEncoder().encode(e.vr));
      if (LONG_VRS.has(e.vr)) {
        s.u16(0, le);
      } else {
        s.u16(length, le);
        return -1;
      }
    }
    const at = s.length;
    s.u32(length, le);
    return at;
  };
  if (isItems(e.value)) {
    const lengthAt = header(UNDEFINED);
    const start = s.length;
    for (const item of e.value.items) {
      writeTag(s, 0xfffee000, le);
      const itemLengthAt = s.length;
      s.u32(UNDEFINED, le);
      const itemStart = s.length;
      writeDataSet(s, item, enc);
      if (enc.undefinedSeq) {
        writeTag(s, 0xfffee00d, le);
        s.u32(0, le);
      } else {
        s.patchU32(itemLengthAt, s.length - itemStart, le);
      }
    }
    if (enc.undefinedSeq) {
      writeTag(s, 0xfffee0dd, le);
      s.u32(0, le);
    } else {
      s.patchU32(lengthAt, s.length - start, le);
    }
    return;
  }
  if (isEncapsulated(e.value)) {
    header(UNDEFINED);
    for (const frag of [new Uint8Array(0), ...e.value.fragments]) {
      const padded = frag.length % 2 === 0 ? frag : Uint8Array.from([...frag, 0]);
      writeTag(s, 0xfffee000, le);
      s.u32(padded.length, le);
      s.bytes(padded);
    }
    writeTag(s, 0xfffee0dd, le);
    s.u32(0, le);
    return;
  }
  const b = valueBytes(e, le);
  header(b.length);
  s.bytes(b);
}

function strOf(ds: DicomDataSet, tag: number): string {
  const v = ds.find((e) => e.tag === tag)?.value;
  return typeof v === 'string' ? v : '';
}

/** Encodes a data set as a DICOM Part-10 file (file meta information added from the options). */
export function encodeDicomFile(ds: DicomDataSet, opts: EncodeOptions = {}): Uint8Array {
  const ts = opts.transferSyntax ?? TS_EXPLICIT_LE;
  const meta: DicomDataSet = [
    el(0x00020001, 'OB', new Uint8Array([0, 1])),
    el(0x00020002, 'UI', opts.mediaStorageSopClassUid ?? strOf(ds, 0x00080016)),
    el(0x00020003, 'UI', opts.mediaStorageSopInstanceUid ?? strOf(ds, 0x00080018)),
    el(0x00020010, 'UI', ts),
    el(0x00020012, 'UI', IMPLEMENTATION_CLASS_UID),
    el(0x00020013, 'SH', IMPLEMENTATION_VERSION),
  ];
  const metaEnc: Encoding = { explicit: true, le: true, undefinedSeq: false };
  const metaSink = new ByteSink();
  writeDataSet(metaSink, meta, metaEnc);
  const metaBytes = metaSink.result();

  const out = new ByteSink();
  if (opts.preamble ?? true) {
    out.bytes(new Uint8Array(128));
    out.bytes(new TextEncoder().encode('DICM'));
  }
  const gl = opts.groupLength ?? true;
  if (gl !== false) {
    writeElement(out, el(0x00020000, 'UL', [gl === true ? metaBytes.length : gl]), metaEnc);
  }
  out.bytes(metaBytes);

  const body = new ByteSink();
  const undefinedSeq = opts.undefinedLengthSequences ?? false;
  const enc: Encoding =
    ts === TS_IMPLICIT_LE
      ? { explicit: false, le: true, undefinedSeq }
      : { explicit: true, le: ts !== TS_EXPLICIT_BE, undefinedSeq };
  writeDataSet(body, ds, enc);
  const bodyBytes = body.result();
  out.bytes(ts === TS_DEFLATED_LE ? deflateSync(bodyBytes) : bodyBytes);
  return out.result();
}
