import { AppError } from '../errors';
import type { Mask } from '../image/types';
import { boundary, squaredDistanceToFeatures } from '../image/morphology';

export interface SegMetrics {
  readonly dice: number;
  readonly iou: number;
  /** Normalised surface Dice at `nsdTolerance` (same units as the spacing: mm, or px when spacing is unknown). */
  readonly nsd: number;
  /** 95th percentile Hausdorff distance; null when exactly one of the masks is empty (counted separately). */
  readonly hd95: number | null;
  readonly predArea: number;
  readonly gtArea: number;
}

export interface MetricOptions {
  /** [column spacing, row spacing]. */
  readonly spacing?: readonly [number, number];
  readonly nsdTolerance?: number;
}

export function assertSameMaskGrid(pred: Mask, gt: Mask): void {
  if (pred.width !== gt.width || pred.height !== gt.height || pred.data.length !== gt.data.length) {
    throw new AppError(
      'grid-mismatch',
      `Prediction ${pred.width}×${pred.height} and ground truth ${gt.width}×${gt.height} are on different grids; metrics are never computed after a silent resample.`,
      { subject: 'mask' },
    );
  }
}

export function overlap(pred: Mask, gt: Mask): { inter: number; predArea: number; gtArea: number } {
  assertSameMaskGrid(pred, gt);
  let inter = 0;
  let p = 0;
  let g = 0;
  for (let i = 0; i < pred.data.length; i++) {
    const a = pred.data[i] ? 1 : 0;
    const b = gt.data[i] ? 1 : 0;
    p += a;
    g += b;
    inter += a & b;
  }
  return { inter, predArea: p, gtArea: g };
}

/** Dice = 2|P∩G| / (|P|+|G|); 1 when both are empty. */
export function dice(pred: Mask, gt: Mask): number {
  const o = overlap(pred, gt);
  const s = o.predArea + o.gtArea;
  return s === 0 ? 1 : (2 * o.inter) / s;
}

/** IoU = |P∩G| / |P∪G|; 1 when both are empty. */
export function iou(pred: Mask, gt: Mask): number {
  const o = overlap(pred, gt);
  const u = o.predArea + o.gtArea - o.inter;
  return u === 0 ? 1 : o.inter / u;
}

/** numpy's default (linear) percentile of an ascending-sorted array. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] ?? NaN;
  const b = sorted[hi] ?? NaN;
  return a + (b - a) * (rank - lo);
}

/** Distances from each boundary pixel of `from` to the nearest boundary pixel of `to`, ascending. */
function boundaryDistances(
  fromB: Uint8Array,
  toB: Uint8Array,
  w: number,
  h: number,
  sx: number,
  sy: number,
): Float64Array {
  const d2 = squaredDistanceToFeatures(toB, w, h, sx, sy);
  let n = 0;
  for (let i = 0; i < fromB.length; i++) if (fromB[i]) n++;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < fromB.length; i++) if (fromB[i]) out[k++] = Math.sqrt(d2[i] ?? Infinity);
  return out.sort();
}

/**
 * Dice, IoU, NSD and HD95 for one slice. Boundaries are mask pixels with a 4-neighbour outside the mask;
 * distances are between pixel centres in physical units (anisotropic spacing respected).
 * NSD = (|∂P within τ of ∂G| + |∂G within τ of ∂P|) / (|∂P| + |∂G|).
 * HD95 = max of the two directed 95th percentiles (as MONAI and DeepMind's surface-distance compute it).
 * Both empty: dice = iou = nsd = 1, hd95 = 0. One empty: dice = iou = nsd = 0, hd95 = null.
 */
export function segMetrics(pred: Mask, gt: Mask, opts: MetricOptions = {}): SegMetrics {
  const o = overlap(pred, gt);
  const [sx, sy] = opts.spacing ?? [1, 1];
  const tau = opts.nsdTolerance ?? 2;
  const sum = o.predArea + o.gtArea;
  const union = sum - o.inter;
  const d = sum === 0 ? 1 : (2 * o.inter) / sum;
  const j = union === 0 ? 1 : o.inter / union;
  if (o.predArea === 0 || o.gtArea === 0) {
    const both = o.predArea === 0 && o.gtArea === 0;
    return {
      dice: d,
      iou: j,
      nsd: both ? 1 : 0,
      hd95: both ? 0 : null,
      predArea: o.predArea,
      gtArea: o.gtArea,
    };
  }
  const { width: w, height: h } = gt;
  const bp = boundary(pred);
  const bg = boundary(gt);
  const dPG = boundaryDistances(bp, bg, w, h, sx, sy);
  const dGP = boundaryDistances(bg, bp, w, h, sx, sy);
  let within = 0;
  for (const v of dPG) if (v <= tau) within++;
  for (const v of dGP) if (v <= tau) within++;
  const nsd = within / (dPG.length + dGP.length);
  const hd95 = Math.max(percentileSorted(dPG, 95), percentileSorted(dGP, 95));
  return { dice: d, iou: j, nsd, hd95, predArea: o.predArea, gtArea: o.gtArea };
}
