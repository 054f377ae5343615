import { AppError } from '../errors';
import { imagePx, type ImagePx } from '../geometry';
import type { Mask } from '../image/types';
import {
  area,
  boundingBox,
  connectedComponents,
  largestComponent,
  squaredDistanceInside,
} from '../image/morphology';
import type { Rng } from './rng';
import { promptPoint, type PromptBox, type PromptPoint } from './types';

function requireNonEmpty(mask: Mask, what: string): void {
  if (area(mask) === 0) {
    throw new AppError(
      'invalid-argument',
      `${what}: the structure is empty on this slice, so no prompt can be placed.`,
      {
        subject: 'mask',
      },
    );
  }
}

/** A caller's distance setting as whole pixels (fractions rounded down); negative or not a number is refused. */
function wholePixels(v: number, what: string): number {
  if (!(Number.isFinite(v) && v >= 0)) {
    throw new AppError('invalid-argument', `${what} must be zero or more pixels, not ${v}.`, {
      subject: what,
    });
  }
  return Math.floor(v);
}

/** Index of the maximum of `values` over pixels where `within` is set; ties broken by the RNG. */
function argmaxWithTies(values: Float64Array, within: Uint8Array, rng: Rng): number {
  let best = -Infinity;
  const ties: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (!within[i]) continue;
    const v = values[i] ?? -Infinity;
    if (v > best) {
      best = v;
      ties.length = 0;
      ties.push(i);
    } else if (v === best) {
      ties.push(i);
    }
  }
  if (ties.length === 0) throw new AppError('internal', 'argmax over an empty region');
  return ties.length === 1 ? (ties[0] ?? 0) : (ties[rng.int(ties.length)] ?? 0);
}

function pixelOf(i: number, width: number): ImagePx {
  const x = i % width;
  return imagePx(x, (i - x) / width);
}

/**
 * The protocol's default first click: the maximum of the Euclidean distance transform of the largest
 * connected component (the point deepest inside it), so it lies inside even non-convex organs.
 */
export function centreClick(mask: Mask, rng: Rng): ImagePx {
  requireNonEmpty(mask, 'centre click');
  const comp = largestComponent(mask);
  const dist = squaredDistanceInside(comp);
  return pixelOf(argmaxWithTies(dist, comp.data, rng), mask.width);
}

/** Variant: the geometric centroid of the structure, snapped to the nearest mask pixel when it falls outside. */
export function centroidClick(mask: Mask): ImagePx {
  requireNonEmpty(mask, 'centroid click');
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x]) {
        sx += x;
        sy += y;
        n++;
      }
    }
  }
  const cx = Math.round(sx / n);
  const cy = Math.round(sy / n);
  if (mask.data[cy * mask.width + cx]) return imagePx(cx, cy);
  // Nearest inside pixel; raster order breaks ties, so the result is deterministic without an RNG.
  let best = Infinity;
  let bi = 0;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (!mask.data[y * mask.width + x]) continue;
      const d = (x - cx) ** 2 + (y - cy) ** 2;
      if (d < best) {
        best = d;
        bi = y * mask.width + x;
      }
    }
  }
  return pixelOf(bi, mask.width);
}

/**
 * `count` further positive clicks drawn uniformly from mask pixels not already chosen. Drawing is a
 * partial Fisher–Yates shuffle consumed in order, so the first k draws never depend on `count`: prompt
 * sets nest (the n+1 set is the n set plus one click).
 */
export function randomPositives(mask: Mask, exclude: readonly ImagePx[], count: number, rng: Rng): ImagePx[] {
  requireNonEmpty(mask, 'random positive clicks');
  const excluded = new Set(exclude.map((p) => Math.round(p.y) * mask.width + Math.round(p.x)));
  const pool: number[] = [];
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i] && !excluded.has(i)) pool.push(i);
  const n = Math.min(count, pool.length);
  const out: ImagePx[] = [];
  for (let k = 0; k < n; k++) {
    const j = k + rng.int(pool.length - k);
    const pick = pool[j] ?? 0;
    pool[j] = pool[k] ?? 0;
    pool[k] = pick;
    out.push(pixelOf(pick, mask.width));
  }
  return out;
}

/**
 * Negative clicks for the "pos+neg" strategy: background pixels inside the structure's bounding box
 * dilated by `margin` px (clipped to the image), chosen greedily to maximise the minimum distance to the
 * positive click and to each other (farthest-point sampling; ties broken by the RNG). When the dilated box
 * holds no background, the whole image's background is used.
 */
export function negativeClicks(
  mask: Mask,
  positives: readonly ImagePx[],
  count: number,
  margin: number,
  rng: Rng,
): ImagePx[] {
  requireNonEmpty(mask, 'negative clicks');
  margin = wholePixels(margin, 'negative-click margin');
  const bb = boundingBox(mask);
  if (!bb) return [];
  const { width: w, height: h } = mask;
  const region = new Uint8Array(w * h);
  let any = false;
  const x0 = Math.max(0, bb.x0 - margin);
  const x1 = Math.min(w - 1, bb.x1 + margin);
  const y0 = Math.max(0, bb.y0 - margin);
  const y1 = Math.min(h - 1, bb.y1 + margin);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const i = y * w + x;
      if (!mask.data[i]) {
        region[i] = 1;
        any = true;
      }
    }
  }
  if (!any) for (let i = 0; i < region.length; i++) region[i] = mask.data[i] ? 0 : 1;
  if (!region.some((v) => v === 1)) return [];
  const minD2 = new Float64Array(w * h).fill(Infinity);
  const update = (p: ImagePx) => {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (!region[i]) continue;
        const d = (x - p.x) ** 2 + (y - p.y) ** 2;
        if (d < (minD2[i] ?? Infinity)) minD2[i] = d;
      }
    }
  };
  for (const p of positives) update(p);
  const out: ImagePx[] = [];
  for (let k = 0; k < count; k++) {
    const i = argmaxWithTies(minD2, region, rng);
    const p = pixelOf(i, w);
    out.push(p);
    region[i] = 0;
    if (!region.some((v) => v === 1)) break;
    update(p);
  }
  return out;
}

/**
 * Interactive-style correction click: the distance-transform maximum of the largest error region;
 * a missed region (false negative) gives a positive click, an over-segmented one a negative click.
 * Returns null when prediction and ground truth agree.
 */
export function errorRegionClick(gt: Mask, pred: Mask, rng: Rng): PromptPoint | null {
  const n = gt.data.length;
  const fn = new Uint8Array(n);
  const fp = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const g = gt.data[i] ? 1 : 0;
    const p = pred.data[i] ? 1 : 0;
    fn[i] = g & (1 - p);
    fp[i] = p & (1 - g);
  }
  const pick = (m: Uint8Array) => {
    const mk = { width: gt.width, height: gt.height, data: m };
    const cc = connectedComponents(mk);
    let best = 0;
    for (let id = 1; id <= cc.count; id++) best = Math.max(best, cc.sizes[id] ?? 0);
    return { mask: mk, size: best };
  };
  const a = pick(fn);
  const b = pick(fp);
  if (a.size === 0 && b.size === 0) return null;
  const missed = a.size >= b.size;
  const region = largestComponent((missed ? a : b).mask);
  const dist = squaredDistanceInside(region);
  const p = pixelOf(argmaxWithTies(dist, region.data, rng), gt.width);
  return promptPoint(p.x, p.y, missed ? 1 : 0);
}

/** Ground-truth bounding box with each side shifted by a seeded integer in [-maxShift, maxShift], clipped. */
export function jitteredBox(mask: Mask, maxShift: number, rng: Rng): PromptBox {
  requireNonEmpty(mask, 'box prompt');
  maxShift = wholePixels(maxShift, 'box shift');
  const bb = boundingBox(mask);
  if (!bb) throw new AppError('internal', 'empty mask has no box');
  const j = () => rng.int(2 * maxShift + 1) - maxShift;
  const clampX = (v: number) => Math.min(mask.width - 1, Math.max(0, v));
  const clampY = (v: number) => Math.min(mask.height - 1, Math.max(0, v));
  let x0 = clampX(bb.x0 + j());
  let y0 = clampY(bb.y0 + j());
  let x1 = clampX(bb.x1 + j());
  let y1 = clampY(bb.y1 + j());
  if (x1 < x0) [x0, x1] = [x1, x0];
  if (y1 < y0) [y0, y1] = [y1, y0];
  return { x0, y0, x1, y1 };
}
