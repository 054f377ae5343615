/** PNG and JPEG slices (ultrasound and 2D datasets): 8- or 16-bit grey, or colour kept beside its luma. */
import { decode as decodePng, convertIndexedToRgb, type DecodedPng } from 'fast-png';
import jpeg from 'jpeg-js';
import { AppError, toAppError } from '../errors';
import { IDENTITY3, type ScalarArray, type Volume } from '../image/types';
import { checkBudget } from './budget';
import type { InputFile, ReadOptions, ReadResult } from './types';

export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}
export function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

function pngDims(b: Uint8Array): { w: number; h: number } | null {
  if (b.length < 24) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { w: dv.getUint32(16), h: dv.getUint32(20) };
}

function fromChannels(
  name: string,
  width: number,
  height: number,
  data: ArrayLike<number>,
  channels: number,
  depth: number,
  format: 'png' | 'jpeg',
  opts: ReadOptions,
): ReadResult {
  const n = width * height;
  const notes: string[] = [];
  let grey: ScalarArray;
  let rgb: Uint8Array | undefined;
  if (channels === 1 || channels === 2) {
    grey = depth > 8 ? new Uint16Array(n) : new Uint8Array(n);
    for (let i = 0; i < n; i++) grey[i] = data[i * channels] ?? 0;
    if (channels === 2) notes.push('Alpha channel ignored.');
  } else if (channels === 3 || channels === 4) {
    let isGrey = true;
    for (let i = 0; i < n && isGrey; i++) {
      const r = data[i * channels] ?? 0;
      if (r !== data[i * channels + 1] || r !== data[i * channels + 2]) isGrey = false;
    }
    const scale = depth > 8 ? 1 / 257 : 1;
    grey = new Uint8Array(n);
    if (isGrey) {
      for (let i = 0; i < n; i++) grey[i] = Math.round((data[i * channels] ?? 0) * scale);
    } else {
      rgb = new Uint8Array(n * 3);
      for (let i = 0; i < n; i++) {
        const r = Math.round((data[i * channels] ?? 0) * scale);
        const g = Math.round((data[i * channels + 1] ?? 0) * scale);
        const bl = Math.round((data[i * channels + 2] ?? 0) * scale);
        rgb[3 * i] = r;
        rgb[3 * i + 1] = g;
        rgb[3 * i + 2] = bl;
        grey[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * bl);
      }
      notes.push('Colour image: the models see its RGB; the viewer shows its luminance.');
    }
  } else {
    throw new AppError('unsupported-format', `${name}: ${channels}-channel images are not supported.`, {
      subject: name,
    });
  }
  const volume: Volume = {
    dims: [width, height, 1],
    spacing: [1, 1, 1],
    spacingKnown: false,
    origin: [0, 0, 0],
    direction: IDENTITY3,
    data: grey,
    modality: opts.modality ?? 'OT',
  };
  return { volume, format, notes, is8bit: grey instanceof Uint8Array, ...(rgb ? { rgb } : {}) };
}

export function readPng(file: InputFile, opts: ReadOptions = {}): ReadResult {
  const d = pngDims(file.bytes);
  if (!isPng(file.bytes) || !d)
    throw new AppError('corrupt-file', `${file.name} is not a PNG file.`, { subject: file.name });
  if (d.w === 0 || d.h === 0)
    throw new AppError('corrupt-file', `${file.name}: its PNG header gives an empty size (${d.w}×${d.h}).`, {
      subject: file.name,
    });
  checkBudget(d.w * d.h * 8, file.name, opts);
  let png: DecodedPng;
  let rgb: Uint8Array | undefined;
  try {
    const decoded = decodePng(file.bytes);
    png = decoded;
    // A palette index beyond the palette, or data of the wrong size, throws here too.
    if (decoded.palette) rgb = convertIndexedToRgb(decoded);
  } catch (e) {
    if (e instanceof AppError) throw e;
    // fast-png throws RangeError for damaged chunks too: only a failed allocation is out of memory.
    const typed = toAppError(e, 'corrupt-file', file.name);
    if (typed.code === 'out-of-memory') throw typed;
    throw new AppError(
      'corrupt-file',
      `${file.name} could not be decoded as PNG (${e instanceof Error ? e.message : String(e)}).`,
      { subject: file.name, cause: e },
    );
  }
  if (png.palette && rgb) {
    return fromChannels(file.name, png.width, png.height, rgb, png.palette[0]?.length ?? 3, 8, 'png', opts);
  }
  const data = png.depth < 8 ? unpackSamples(png.data, png.width, png.height, png.depth) : png.data;
  return fromChannels(file.name, png.width, png.height, data, png.channels, png.depth, 'png', opts);
}

/**
 * 1-, 2- and 4-bit greyscale samples (PNG packs them from the high bit, each row starting on a byte)
 * as one value per pixel, 0 … 2^depth − 1.
 */
function unpackSamples(packed: ArrayLike<number>, width: number, height: number, depth: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const max = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = packed[y * rowBytes + (bit >> 3)] ?? 0;
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & max;
    }
  }
  return out;
}

export function readJpeg(file: InputFile, opts: ReadOptions = {}): ReadResult {
  if (!isJpeg(file.bytes))
    throw new AppError('corrupt-file', `${file.name} is not a JPEG file.`, { subject: file.name });
  let img;
  try {
    img = jpeg.decode(file.bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxMemoryUsageInMB: Math.floor((opts.budgetBytes ?? 1024 ** 3) / 1024 ** 2),
    });
  } catch (e) {
    throw new AppError(
      'corrupt-file',
      `${file.name} could not be decoded as JPEG (${e instanceof Error ? e.message : String(e)}).`,
      { subject: file.name, cause: e },
    );
  }
  return fromChannels(file.name, img.width, img.height, img.data, 4, 8, 'jpeg', opts);
}
