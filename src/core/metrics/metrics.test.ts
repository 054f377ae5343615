import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { boundary } from '../image/morphology';
import type { Mask } from '../image/types';
import { emptyMask, rectMask } from '../testing/shapes';
import { dice, iou, percentileSorted, segMetrics } from './index';

/** Independent O(n²) reference for boundary distances, to check the EDT-based implementation. */
function bruteDirected(a: Mask, b: Mask, sx: number, sy: number): number[] {
  const ba = boundary(a);
  const bb = boundary(b);
  const pts = (m: Uint8Array) => {
    const out: [number, number][] = [];
    m.forEach((v, i) => {
      if (v) out.push([i % a.width, Math.floor(i / a.width)]);
    });
    return out;
  };
  const pa = pts(ba);
  const pb = pts(bb);
  return pa
    .map(([x, y]) => Math.min(...pb.map(([u, v]) => Math.hypot((x - u) * sx, (y - v) * sy))))
    .sort((p, q) => p - q);
}

describe('Dice and IoU', () => {
  it('gives 0.8 and 2/3 for a 10×10 square shifted by 2 px', () => {
    const gt = rectMask(40, 40, 10, 10, 19, 19);
    const pred = rectMask(40, 40, 12, 10, 21, 19);
    // |P∩G| = 8×10 = 80, |P|+|G| = 200, |P∪G| = 120.
    expect(dice(pred, gt)).toBeCloseTo(0.8, 12);
    expect(iou(pred, gt)).toBeCloseTo(80 / 120, 12);
  });

  it('scores an empty prediction 0 and two empty masks 1', () => {
    const gt = rectMask(8, 8, 2, 2, 4, 4);
    expect(dice(emptyMask(8, 8), gt)).toBe(0);
    expect(iou(emptyMask(8, 8), gt)).toBe(0);
    expect(dice(emptyMask(8, 8), emptyMask(8, 8))).toBe(1);
  });

  it('refuses masks on different grids with a typed error', () => {
    const run = () => dice(emptyMask(8, 8), emptyMask(8, 9));
    expect(run).toThrow(AppError);
    try {
      run();
    } catch (e) {
      expect((e as AppError).code).toBe('grid-mismatch');
    }
  });
});

describe('surface metrics', () => {
  it('matches hand-computed values for a 7×7 square inside an 11×11 square', () => {
    const gt = rectMask(30, 30, 5, 5, 15, 15);
    const pred = rectMask(30, 30, 7, 7, 13, 13);
    // Pred boundary (24 px) is 2 px from GT's; GT boundary (40 px): 28 at 2, 8 at √5, 4 corners at √8.
    const m = segMetrics(pred, gt, { nsdTolerance: 2 });
    expect(m.dice).toBeCloseTo(98 / 170, 12);
    expect(m.iou).toBeCloseTo(49 / 121, 12);
    expect(m.nsd).toBeCloseTo((24 + 28) / 64, 12);
    expect(segMetrics(pred, gt, { nsdTolerance: 2.5 }).nsd).toBeCloseTo((24 + 36) / 64, 12);
    // Directed 95th percentiles: 2 and the 37.05th rank of GT→P (index 37 and 38 are both √8).
    expect(m.hd95).toBeCloseTo(Math.SQRT2 * 2, 12);
  });

  it('uses physical spacing: single pixels 3 columns and 4 rows apart', () => {
    const a = rectMask(20, 20, 5, 5, 5, 5);
    const b = rectMask(20, 20, 8, 9, 8, 9);
    expect(segMetrics(a, b).hd95).toBeCloseTo(5, 12);
    // 3 columns × 2 mm and 4 rows × 0.5 mm → √(36 + 4).
    const m = segMetrics(a, b, { spacing: [2, 0.5], nsdTolerance: 6.3 });
    expect(m.hd95).toBeCloseTo(Math.sqrt(40), 12);
    expect(m.nsd).toBe(0);
    expect(segMetrics(a, b, { spacing: [2, 0.5], nsdTolerance: 6.4 }).nsd).toBe(1);
  });

  it('reports an empty prediction as Dice 0, NSD 0 and HD95 null', () => {
    const m = segMetrics(emptyMask(10, 10), rectMask(10, 10, 2, 2, 5, 5));
    expect(m).toMatchObject({ dice: 0, iou: 0, nsd: 0, hd95: null, predArea: 0, gtArea: 16 });
  });

  it('reports identical masks as perfect', () => {
    const g = rectMask(16, 12, 3, 2, 9, 8);
    expect(segMetrics(g, g)).toMatchObject({ dice: 1, iou: 1, nsd: 1, hd95: 0 });
  });

  it('agrees with a brute-force reference on random masks and anisotropic spacing', () => {
    const maskArb = fc
      .tuple(fc.integer({ min: 3, max: 14 }), fc.integer({ min: 3, max: 14 }))
      .chain(([w, h]) =>
        fc.tuple(
          fc.constant([w, h] as const),
          fc.uint8Array({ minLength: w * h, maxLength: w * h, min: 0, max: 1 }),
          fc.uint8Array({ minLength: w * h, maxLength: w * h, min: 0, max: 1 }),
        ),
      );
    fc.assert(
      fc.property(
        maskArb,
        fc.double({ min: 0.3, max: 3, noNaN: true }),
        fc.double({ min: 0.3, max: 3, noNaN: true }),
        ([[w, h], pa, ga], sx, sy) => {
          const pred = { width: w, height: h, data: pa };
          const gt = { width: w, height: h, data: ga };
          fc.pre(pa.some((v) => v === 1) && ga.some((v) => v === 1));
          const m = segMetrics(pred, gt, { spacing: [sx, sy], nsdTolerance: 1.5 });
          const d1 = bruteDirected(pred, gt, sx, sy);
          const d2 = bruteDirected(gt, pred, sx, sy);
          const expHd = Math.max(percentileSorted(d1, 95), percentileSorted(d2, 95));
          const expNsd =
            (d1.filter((d) => d <= 1.5).length + d2.filter((d) => d <= 1.5).length) / (d1.length + d2.length);
          expect(m.hd95).toBeCloseTo(expHd, 9);
          expect(m.nsd).toBeCloseTo(expNsd, 9);
        },
      ),
      { seed: 20240808, numRuns: 150 },
    );
  });
});

describe('percentileSorted', () => {
  it('interpolates linearly like numpy', () => {
    // numpy.percentile([1,2,3,4], 95) = 3.85
    expect(percentileSorted([1, 2, 3, 4], 95)).toBeCloseTo(3.85, 12);
    expect(percentileSorted([7], 95)).toBe(7);
  });
});
