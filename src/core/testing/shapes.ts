/** Small synthetic masks and images shared by unit tests (test-only helpers, never shipped logic). */
import type { Mask } from '../image/types';

export function emptyMask(width: number, height: number): Mask {
  return { width, height, data: new Uint8Array(width * height) };
}

export function rectMask(
  width: number,
  height: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): Mask {
  const m = emptyMask(width, height);
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m.data[y * width + x] = 1;
  return m;
}

export function diskMask(width: number, height: number, cx: number, cy: number, r: number): Mask {
  const m = emptyMask(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) m.data[y * width + x] = 1;
  }
  return m;
}

/** A thick "C": an annulus with the right-hand quarter removed. Its centroid lies in the hole. */
export function cShapeMask(
  width: number,
  height: number,
  cx: number,
  cy: number,
  rOuter: number,
  rInner: number,
): Mask {
  const m = emptyMask(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d2 = (x - cx) ** 2 + (y - cy) ** 2;
      const gap = x > cx && Math.abs(y - cy) < rOuter * 0.5;
      if (d2 <= rOuter * rOuter && d2 > rInner * rInner && !gap) m.data[y * width + x] = 1;
    }
  }
  return m;
}

export function union(a: Mask, b: Mask): Mask {
  return { width: a.width, height: a.height, data: a.data.map((v, i) => (v || b.data[i] ? 1 : 0)) };
}

export function count(m: Mask): number {
  let n = 0;
  for (const v of m.data) n += v ? 1 : 0;
  return n;
}
