import { encode, type ImageData } from 'fast-png';
import { zlibSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../errors';
import { readSingleFile } from './index';
import { isPng, readPng } from './raster';
import type { InputFile } from './types';

const W = 4;
const H = 3;

function png(img: Omit<ImageData, 'width' | 'height'> & Partial<Pick<ImageData, 'width' | 'height'>>) {
  return encode({ width: W, height: H, ...img });
}

const file = (bytes: Uint8Array, name = 'mask.png'): InputFile => ({ name, bytes });

function expectCode(fn: () => unknown, codes: ErrorCode | readonly ErrorCode[], text?: RegExp): AppError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(AppError);
  const e = caught as AppError;
  expect([codes].flat(), e.message).toContain(e.code);
  if (text) expect(e.message).toMatch(text);
  return e;
}

// CRC-32 (ISO 3309, the PNG chunk checksum), written out so that hand-made chunks are valid.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = (CRC_TABLE[(c ^ x) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG from raw chunks (PNG spec §5.3: length, type, data, CRC over type and data). */
function rawPng(chunks: readonly (readonly [string, Uint8Array])[]): Uint8Array {
  const parts: number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  for (const [type, data] of chunks) {
    const td = new Uint8Array(4 + data.length);
    td.set(new TextEncoder().encode(type), 0);
    td.set(data, 4);
    const len = data.length;
    parts.push((len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255, ...td);
    const c = crc32(td);
    parts.push((c >>> 24) & 255, (c >>> 16) & 255, (c >>> 8) & 255, c & 255);
  }
  return Uint8Array.from(parts);
}

function ihdr(w: number, h: number, depth: number, colorType: number): Uint8Array {
  const b = new Uint8Array(13);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  b[8] = depth;
  b[9] = colorType;
  return b;
}

describe('PNG masks', () => {
  it('reads a binary 0/255 mask exactly, as an 8-bit 2-D volume without a pixel size', () => {
    const data = Uint8Array.from([0, 255, 255, 0, 0, 255, 0, 0, 255, 255, 255, 0]);
    const r = readPng(file(png({ data, channels: 1, depth: 8 })));
    expect(r.format).toBe('png');
    expect(r.volume.dims).toEqual([W, H, 1]);
    expect(r.volume.data).toBeInstanceOf(Uint8Array);
    expect([...r.volume.data]).toEqual([...data]);
    expect(r.volume.spacingKnown).toBe(false);
    expect(r.is8bit).toBe(true);
    expect(r.rgb).toBeUndefined();
  });

  it('keeps label values of a label-valued mask', () => {
    const data = Uint8Array.from([0, 1, 2, 3, 4, 5, 0, 7, 8, 0, 10, 11]);
    expect([...readPng(file(png({ data, channels: 1, depth: 8 }))).volume.data]).toEqual([...data]);
  });

  it('keeps 16-bit grey values as uint16', () => {
    const data = Uint16Array.from([0, 1, 255, 256, 1000, 4095, 30000, 65535, 2, 3, 4, 5]);
    const r = readPng(file(png({ data, channels: 1, depth: 16 })));
    expect(r.volume.data).toBeInstanceOf(Uint16Array);
    expect([...r.volume.data]).toEqual([...data]);
    expect(r.is8bit).toBe(false);
  });

  it('unpacks 1-, 2- and 4-bit grey samples, each row starting on a byte (regression)', () => {
    // Width 3. 1-bit rows 1 0 1 / 0 1 1 → bytes 1010 0000, 0110 0000.
    const one = readPng(
      file(png({ width: 3, height: 2, data: Uint8Array.from([0xa0, 0x60]), depth: 1, channels: 1 })),
    );
    expect([...one.volume.data]).toEqual([1, 0, 1, 0, 1, 1]);
    // 2-bit rows 3 0 2 / 1 1 0 → 11 00 10 00, 01 01 00 00.
    const two = readPng(
      file(png({ width: 3, height: 2, data: Uint8Array.from([0xc8, 0x50]), depth: 2, channels: 1 })),
    );
    expect([...two.volume.data]).toEqual([3, 0, 2, 1, 1, 0]);
    // 4-bit rows 15 1 9 / 0 7 4 → 0xf1 0x90, 0x07 0x40.
    const four = readPng(
      file(
        png({ width: 3, height: 2, data: Uint8Array.from([0xf1, 0x90, 0x07, 0x40]), depth: 4, channels: 1 }),
      ),
    );
    expect([...four.volume.data]).toEqual([15, 1, 9, 0, 7, 4]);
  });

  it('reads an RGB image whose channels agree as grey, with no colour kept', () => {
    const grey = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 255];
    const data = Uint8Array.from(grey.flatMap((g) => [g, g, g]));
    const r = readPng(file(png({ data, channels: 3, depth: 8 })));
    expect([...r.volume.data]).toEqual(grey);
    expect(r.rgb).toBeUndefined();
  });

  it('keeps colour RGB beside its luma (0.299 R + 0.587 G + 0.114 B, rounded)', () => {
    const px = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [100, 100, 100],
    ];
    const data = Uint8Array.from(px.flat());
    const r = readPng(file(png({ width: 4, height: 1, data, channels: 3, depth: 8 })));
    // 76.245 → 76, 149.685 → 150, 29.07 → 29, 100.
    expect([...r.volume.data]).toEqual([76, 150, 29, 100]);
    expect([...(r.rgb ?? [])]).toEqual([...data]);
    expect(r.notes.join(' ')).toMatch(/Colour image/);
  });

  it('ignores alpha (RGBA and grey + alpha)', () => {
    const rgba = Uint8Array.from([255, 0, 0, 10, 0, 0, 255, 200]);
    const r = readPng(file(png({ width: 2, height: 1, data: rgba, channels: 4, depth: 8 })));
    expect([...r.volume.data]).toEqual([76, 29]);
    expect([...(r.rgb ?? [])]).toEqual([255, 0, 0, 0, 0, 255]);
    const ga = readPng(
      file(png({ width: 2, height: 1, data: Uint8Array.from([7, 0, 9, 255]), channels: 2, depth: 8 })),
    );
    expect([...ga.volume.data]).toEqual([7, 9]);
    expect(ga.notes.join(' ')).toMatch(/Alpha/);
  });

  it('scales 16-bit colour to 8 bits (÷ 257)', () => {
    const data = Uint16Array.from([65535, 0, 0, 257 * 100, 257 * 100, 257 * 100]);
    const r = readPng(file(png({ width: 2, height: 1, data, channels: 3, depth: 16 })));
    expect([...(r.rgb ?? [])]).toEqual([255, 0, 0, 100, 100, 100]);
  });

  it('maps a palette label map through its palette', () => {
    const palette = [
      [0, 0, 0],
      [1, 1, 1],
      [2, 2, 2],
      [3, 3, 3],
    ];
    const idx = Uint8Array.from([0, 1, 2, 3, 3, 2, 1, 0, 0, 0, 1, 1]);
    const r = readPng(file(png({ data: idx, channels: 1, depth: 8, palette })));
    expect([...r.volume.data]).toEqual([...idx]);
    expect(r.rgb).toBeUndefined();
  });

  it('maps a coloured 2-bit palette to RGB', () => {
    const palette = [
      [0, 0, 0],
      [255, 0, 0],
      [0, 0, 255],
    ];
    // Width 3, indices 1 0 2 / 2 2 0 → 01 00 10 00, 10 10 00 00.
    const r = readPng(
      file(png({ width: 3, height: 2, data: Uint8Array.from([0x48, 0xa0]), channels: 1, depth: 2, palette })),
    );
    expect([...(r.rgb ?? [])]).toEqual([255, 0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 0]);
    expect([...r.volume.data]).toEqual([76, 0, 29, 29, 29, 0]);
  });

  it('reads an Adam7-interlaced PNG to the same pixels', () => {
    const data = Uint8Array.from({ length: 9 * 7 }, (_, i) => (i * 37) % 256);
    const bytes = encode({ width: 9, height: 7, data, channels: 1, depth: 8 }, { interlace: 'Adam7' });
    expect(bytes[28]).toBe(1); // IHDR interlace method byte
    expect([...readPng(file(bytes)).volume.data]).toEqual([...data]);
  });

  it('is found by content through readSingleFile, whatever the name', () => {
    const bytes = png({ data: new Uint8Array(W * H).fill(9), channels: 1, depth: 8 });
    expect(isPng(bytes)).toBe(true);
    expect(readSingleFile(file(bytes, 'mask.nii')).format).toBe('png');
  });
});

describe('damaged PNGs', () => {
  const good = png({ data: Uint8Array.from({ length: W * H }, (_, i) => i * 20), channels: 1, depth: 8 });

  it('refuses garbage named .png', () => {
    const junk = file(new TextEncoder().encode('definitely not a PNG image'), 'junk.png');
    expectCode(() => readPng(junk), 'corrupt-file', /junk\.png is not a PNG/);
    expectCode(() => readSingleFile(junk), 'unsupported-format', /junk\.png/);
  });

  it('refuses a truncation at every offset with an AppError that names the file, never a partial image', () => {
    const pixels = [...readPng(file(good)).volume.data];
    // The last 12 bytes are IEND (length 0, type, CRC): a cut inside its CRC leaves every pixel intact.
    const iendCrc = good.length - 4;
    expect(String.fromCharCode(...good.subarray(good.length - 8, iendCrc))).toBe('IEND');
    for (let cut = 0; cut < good.length; cut++) {
      const f = file(good.slice(0, cut), 'cut.png');
      if (cut < iendCrc) {
        expectCode(() => readPng(f), ['corrupt-file', 'truncated-file'], /cut\.png/);
      } else {
        expect([...readPng(f).volume.data]).toEqual(pixels);
      }
    }
  });

  it('refuses an unknown colour type, a bad bit depth and a damaged IDAT', () => {
    const bad = (chunks: readonly (readonly [string, Uint8Array])[]) =>
      expectCode(() => readPng(file(rawPng(chunks), 'bad.png')), 'corrupt-file', /bad\.png/);
    const idat = zlibSync(new Uint8Array(H * (W + 1)));
    bad([
      ['IHDR', ihdr(W, H, 8, 5)],
      ['IDAT', idat],
      ['IEND', new Uint8Array(0)],
    ]);
    bad([
      ['IHDR', ihdr(W, H, 7, 0)],
      ['IDAT', idat],
      ['IEND', new Uint8Array(0)],
    ]);
    bad([
      ['IHDR', ihdr(W, H, 8, 0)],
      ['IDAT', Uint8Array.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff])],
      ['IEND', new Uint8Array(0)],
    ]);
  });

  it('refuses a palette index beyond the palette as corrupt (regression: fast-png threw a plain Error)', () => {
    // One row of 2 pixels, filter byte 0, indices 0 and 5, with a 2-colour palette.
    const chunks = [
      ['IHDR', ihdr(2, 1, 8, 3)],
      ['PLTE', Uint8Array.from([0, 0, 0, 255, 255, 255])],
      ['IDAT', zlibSync(Uint8Array.from([0, 0, 5]))],
      ['IEND', new Uint8Array(0)],
    ] as const;
    expectCode(() => readPng(file(rawPng(chunks), 'pal.png')), 'corrupt-file', /pal\.png.*palette/);
  });

  it('calls a PLTE of the wrong length corrupt, not out of memory (regression: RangeError)', () => {
    const chunks = [
      ['IHDR', ihdr(2, 1, 8, 3)],
      ['PLTE', Uint8Array.from([0, 0, 0, 255])],
      ['IDAT', zlibSync(Uint8Array.from([0, 0, 0]))],
      ['IEND', new Uint8Array(0)],
    ] as const;
    expectCode(() => readPng(file(rawPng(chunks), 'plte.png')), 'corrupt-file', /plte\.png/);
  });

  it('refuses a width or height of 0 from IHDR (regression: read as an empty 0×3 image; found by fuzzing)', () => {
    // PNG §11.2.2: width and height must be greater than zero. fast-png does not check CRCs, so a zeroed
    // width slips through a decoder that trusts IHDR.
    for (const [w, h] of [
      [0, 3],
      [4, 0],
    ] as const) {
      const bytes = rawPng([
        ['IHDR', ihdr(w, h, 8, 0)],
        ['IDAT', zlibSync(new Uint8Array(h))],
        ['IEND', new Uint8Array(0)],
      ]);
      expectCode(() => readPng(file(bytes, 'empty.png')), 'corrupt-file', /empty\.png.*empty size/);
    }
  });

  it('refuses, from IHDR, a size over the budget before decoding', () => {
    const huge = rawPng([
      ['IHDR', ihdr(50_000, 50_000, 8, 0)],
      ['IEND', new Uint8Array(0)],
    ]);
    expectCode(() => readPng(file(huge, 'huge.png')), 'size-budget', /huge\.png/);
    expectCode(() => readPng(file(good), { budgetBytes: 16 }), 'size-budget');
  });
});
