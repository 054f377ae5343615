import { describe, expect, it } from 'vitest';
import { renderThumbnail, thumbnailSize } from './thumbnail';
import type { Rgb8Image } from './types';

function grey(width: number, height: number, value: (x: number, y: number) => number): Rgb8Image {
  const data = new Uint8Array(3 * width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.fill(value(x, y), 3 * (y * width + x), 3 * (y * width + x) + 3);
  return { width, height, data };
}

const ORANGE = [255, 158, 61] as const;

describe('thumbnailSize', () => {
  it('fits the longer side to the limit and keeps the aspect ratio', () => {
    expect(thumbnailSize(512, 512, 64)).toEqual({ width: 64, height: 64 });
    expect(thumbnailSize(512, 256, 128)).toEqual({ width: 128, height: 64 });
    expect(thumbnailSize(300, 600, 100)).toEqual({ width: 50, height: 100 });
  });

  it('never enlarges a small image and never returns an empty side', () => {
    expect(thumbnailSize(40, 30, 64)).toEqual({ width: 40, height: 30 });
    expect(thumbnailSize(1000, 1, 64)).toEqual({ width: 64, height: 1 });
  });
});

describe('renderThumbnail', () => {
  it('averages the image over each block where the mask is empty', () => {
    // 4×4 image, left half 0, right half 200; 2×2 thumbnail: each block is uniform.
    const img = grey(4, 4, (x) => (x < 2 ? 0 : 200));
    const out = renderThumbnail(img, new Uint8Array(16), { width: 2, height: 2 }, ORANGE, 0.55);
    expect([...out]).toEqual([0, 0, 0, 255, 200, 200, 200, 255, 0, 0, 0, 255, 200, 200, 200, 255]);
    // A checkerboard of 0 and 100 averages to 50 in every 2×2 block.
    const checker = grey(4, 4, (x, y) => ((x + y) % 2 ? 100 : 0));
    const avg = renderThumbnail(checker, new Uint8Array(16), { width: 2, height: 2 }, ORANGE, 0.55);
    expect([avg[0], avg[5], avg[10], avg[15]]).toEqual([50, 50, 50, 255]);
  });

  it('tints by alpha times the fraction of the block the mask covers', () => {
    const img = grey(4, 4, () => 100);
    const mask = new Uint8Array(16);
    mask.fill(1, 0, 2); // top-left block: 2 of its 4 pixels (row 0, x 0–1)
    mask.fill(1, 2, 4); // top-right block: row 0 …
    mask.fill(1, 6, 8); // … and row 1: all 4 pixels
    const out = renderThumbnail(img, mask, { width: 2, height: 2 }, ORANGE, 0.5);
    // Stored as Uint8ClampedArray does (round half to even).
    const blend = (m: number, c: number) => Uint8ClampedArray.of(100 * (1 - m) + c * m)[0];
    // top-left: coverage 1/2 → weight 0.25
    expect([out[0], out[1], out[2]]).toEqual(ORANGE.map((c) => blend(0.25, c)));
    // top-right: coverage 1 → weight 0.5
    expect([out[4], out[5], out[6]]).toEqual(ORANGE.map((c) => blend(0.5, c)));
    // bottom row untouched
    expect([out[8], out[9], out[10], out[12]]).toEqual([100, 100, 100, 100]);
  });

  it('keeps a one-pixel structure visible after an 8× reduction', () => {
    const img = grey(64, 64, () => 0);
    const mask = new Uint8Array(64 * 64);
    mask[33 * 64 + 17] = 1; // lands in block (2, 4) of an 8×8 thumbnail
    const out = renderThumbnail(img, mask, thumbnailSize(64, 64, 8), ORANGE, 1);
    const j = 4 * 8 + 2;
    expect(out[4 * j]).toBeGreaterThan(0);
    let tinted = 0;
    for (let k = 0; k < 64; k++) if ((out[4 * k] ?? 0) > 0) tinted++;
    expect(tinted).toBe(1);
  });

  it('uses all three channels of a colour image', () => {
    const data = new Uint8Array([10, 20, 30, 30, 40, 50]);
    const out = renderThumbnail(
      { width: 2, height: 1, data },
      new Uint8Array(2),
      { width: 1, height: 1 },
      ORANGE,
      1,
    );
    expect([...out]).toEqual([20, 30, 40, 255]);
  });

  it('writes into the given buffer and rejects mismatched sizes', () => {
    const img = grey(8, 8, () => 7);
    const buf = new Uint8ClampedArray(4 * 4 * 4);
    expect(renderThumbnail(img, new Uint8Array(64), { width: 4, height: 4 }, ORANGE, 0.5, buf)).toBe(buf);
    expect(buf[0]).toBe(7);
    expect(() => renderThumbnail(img, new Uint8Array(63), { width: 4, height: 4 }, ORANGE, 0.5)).toThrow(
      RangeError,
    );
    expect(() => renderThumbnail(img, new Uint8Array(64), { width: 16, height: 4 }, ORANGE, 0.5)).toThrow(
      RangeError,
    );
    expect(() =>
      renderThumbnail(img, new Uint8Array(64), { width: 4, height: 4 }, ORANGE, 0.5, buf.subarray(4)),
    ).toThrow(RangeError);
  });
});
