/**
 * The image pixel module and pixel decoding: uncompressed frames (any byte order, 1-bit, bits above
 * BitsStored masked), encapsulated frames handed to an injected FrameDecoder (the viewer supplies one built
 * on Cornerstone's codecs), colour conversion to RGB, and the output buffer that widens as values need.
 */
import dicomParser from 'dicom-parser';
import { AppError } from '../../errors';
import { guardAlloc } from '../budget';
import { samplesFromBytes, swapBytes, type SampleType } from '../bytes';
import { NATIVE_TS, TAG, TS_ENCAPSULATED_UNCOMPRESSED, transferSyntaxName } from './dictionary';
import { corrupt, messageOf, num, str, u16, type ParsedDicom } from './parse';

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
// ---------------------------------------------------------------------------------------------------------
// Pixel decoding

export type Samples =
  Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array;

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

export async function frameSamples(
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
export function toRgb(s: Samples, info: PixelInfo, native: boolean): Uint8Array {
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
/** Output buffer that starts as uint8 or int16 and turns into float32 the first time a value does not fit. */
export class Assembler {
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
