import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { boundingBox } from '../image/morphology';
import type { Mask } from '../image/types';
import { cShapeMask, diskMask, emptyMask, rectMask, union } from '../testing/shapes';
import {
  centreClick,
  centroidClick,
  errorRegionClick,
  jitteredBox,
  negativeClicks,
  randomPositives,
} from './generators';
import { DEFAULT_PROTOCOL, planPrompts, type ProtocolSettings } from './protocol';
import { rngFor, rngFromKey } from './rng';

const inside = (m: Mask, p: { x: number; y: number }) => m.data[p.y * m.width + p.x] === 1;
const key = { seed: 7, caseId: 'case-1', slice: 12, label: 5 };

describe('seeded PRNG', () => {
  it('gives the same stream for the same key and a different one for another key', () => {
    const a = rngFromKey('x');
    const b = rngFromKey('x');
    const c = rngFromKey('y');
    const sa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(sa);
    for (const v of sa) expect(v).toBeGreaterThanOrEqual(0);
    for (const v of sa) expect(v).toBeLessThan(1);
  });

  it('draws integers roughly uniformly', () => {
    const r = rngFromKey('uniform');
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 20000; i++) counts[r.int(10)]! += 1;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });
});

describe('centre click', () => {
  it('lies inside a C-shaped mask whose centroid falls in the hole', () => {
    const m = cShapeMask(120, 100, 60, 50, 40, 22);
    let sx = 0;
    let sy = 0;
    let n = 0;
    m.data.forEach((v, i) => {
      if (v) {
        sx += i % 120;
        sy += Math.floor(i / 120);
        n++;
      }
    });
    // The premise: the raw centroid is outside the structure.
    expect(inside(m, { x: Math.round(sx / n), y: Math.round(sy / n) })).toBe(false);
    const c = centreClick(m, rngFor(key, 'centre'));
    expect(inside(m, c)).toBe(true);
    const cc = centroidClick(m);
    expect(inside(m, cc)).toBe(true);
  });

  it('is the deepest pixel of the largest component, not of a smaller one', () => {
    const big = diskMask(100, 60, 30, 30, 20);
    const small = diskMask(100, 60, 80, 30, 8);
    const c = centreClick(union(big, small), rngFor(key, 'centre'));
    expect(Math.hypot(c.x - 30, c.y - 30)).toBeLessThanOrEqual(1);
  });

  it('breaks ties with the seed: the same seed gives the same pixel', () => {
    // An even-sized square has four equally deep centre pixels.
    const sq = rectMask(20, 20, 4, 4, 13, 13);
    const picks = new Set<string>();
    for (let s = 0; s < 30; s++) {
      const p = centreClick(sq, rngFor({ ...key, seed: s }, 'centre'));
      expect([8, 9]).toContain(p.x);
      expect([8, 9]).toContain(p.y);
      picks.add(`${p.x},${p.y}`);
      expect(centreClick(sq, rngFor({ ...key, seed: s }, 'centre'))).toEqual(p);
    }
    expect(picks.size).toBeGreaterThan(1);
  });

  it('refuses an empty structure with a typed error', () => {
    expect(() => centreClick(emptyMask(10, 10), rngFor(key, 'centre'))).toThrow(AppError);
  });
});

describe('protocol prompt sets', () => {
  const mask = cShapeMask(160, 120, 80, 60, 50, 25);
  const settings: ProtocolSettings = { ...DEFAULT_PROTOCOL, strategies: ['centre-random', 'pos-neg', 'box'] };

  it('nests: the n+1 set extends the n set', () => {
    const sets = planPrompts(mask, settings, key).filter((p) => p.strategy === 'centre-random');
    expect(sets.map((s) => s.n)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < sets.length; i++) {
      const prev = sets[i - 1]!.prompt.points;
      const cur = sets[i]!.prompt.points;
      expect(cur.slice(0, prev.length)).toEqual(prev);
      expect(cur).toHaveLength(prev.length + 1);
    }
  });

  it('does not change the first points when maxPoints grows', () => {
    const a = planPrompts(mask, { ...settings, maxPoints: 3 }, key).filter(
      (p) => p.strategy === 'centre-random',
    );
    const b = planPrompts(mask, { ...settings, maxPoints: 8 }, key).filter(
      (p) => p.strategy === 'centre-random',
    );
    expect(b.slice(0, 3)).toEqual(a);
  });

  it('gives the same points for the same seed and different ones for another seed', () => {
    const a = planPrompts(mask, settings, key);
    expect(planPrompts(mask, settings, key)).toEqual(a);
    const b = planPrompts(mask, settings, { ...key, seed: 8 });
    expect(b).not.toEqual(a);
  });

  it('places random positives inside the mask, distinct from each other and from the centre', () => {
    const sets = planPrompts(mask, settings, key).filter((p) => p.strategy === 'centre-random');
    const pts = sets.at(-1)!.prompt.points;
    expect(new Set(pts.map((p) => `${p.x},${p.y}`)).size).toBe(pts.length);
    for (const p of pts) {
      expect(p.label).toBe(1);
      expect(inside(mask, p)).toBe(true);
    }
  });

  it('gives pos+neg one positive and two negatives outside the structure, within the dilated box', () => {
    const pn = planPrompts(mask, settings, key).find((p) => p.strategy === 'pos-neg')!;
    const [pos, ...negs] = pn.prompt.points;
    expect(pos!.label).toBe(1);
    expect(negs).toHaveLength(2);
    const bb = boundingBox(mask)!;
    for (const q of negs) {
      expect(q.label).toBe(0);
      expect(inside(mask, q)).toBe(false);
      expect(q.x).toBeGreaterThanOrEqual(bb.x0 - 15);
      expect(q.x).toBeLessThanOrEqual(bb.x1 + 15);
      expect(q.y).toBeGreaterThanOrEqual(bb.y0 - 15);
      expect(q.y).toBeLessThanOrEqual(bb.y1 + 15);
    }
  });

  it('puts the box within ±5 px of the ground-truth bounding box', () => {
    const bx = planPrompts(mask, settings, key).find((p) => p.strategy === 'box')!.prompt.box!;
    const bb = boundingBox(mask)!;
    expect(Math.abs(bx.x0 - bb.x0)).toBeLessThanOrEqual(5);
    expect(Math.abs(bx.x1 - bb.x1)).toBeLessThanOrEqual(5);
    expect(Math.abs(bx.y0 - bb.y0)).toBeLessThanOrEqual(5);
    expect(Math.abs(bx.y1 - bb.y1)).toBeLessThanOrEqual(5);
  });
});

describe('negative clicks', () => {
  it('go to the far corner of the dilated box first (farthest-point)', () => {
    const sq = rectMask(100, 100, 20, 20, 39, 39);
    const centre = centreClick(sq, rngFor(key, 'centre'));
    const [n1, n2] = negativeClicks(sq, [centre], 2, 15, rngFor(key, 'neg'));
    // Dilated box is 5..54 on both axes; the farthest background pixel from a centre in 29..30 is a corner.
    const corners = [5, 54];
    expect(corners).toContain(n1!.x);
    expect(corners).toContain(n1!.y);
    // The second maximises the minimum distance to the centre and the first: another corner.
    expect(corners).toContain(n2!.x);
    expect(corners).toContain(n2!.y);
    expect(n2).not.toEqual(n1);
  });
});

describe('error-region click', () => {
  it('adds a positive click in the largest missed region', () => {
    const gt = rectMask(60, 60, 10, 10, 49, 49);
    const pred = rectMask(60, 60, 10, 10, 29, 49); // misses the right half
    const p = errorRegionClick(gt, pred, rngFor(key, 'err'))!;
    expect(p.label).toBe(1);
    expect(p.x).toBeGreaterThanOrEqual(30);
    expect(inside(gt, p)).toBe(true);
  });

  it('adds a negative click in the largest over-segmented region', () => {
    const gt = rectMask(60, 60, 10, 10, 29, 29);
    const pred = union(gt, rectMask(60, 60, 35, 35, 55, 55));
    const p = errorRegionClick(gt, pred, rngFor(key, 'err'))!;
    expect(p.label).toBe(0);
    expect(inside(gt, p)).toBe(false);
    expect(p.x).toBeGreaterThanOrEqual(35);
  });

  it('returns null when the prediction is perfect', () => {
    const gt = rectMask(20, 20, 3, 3, 9, 9);
    expect(errorRegionClick(gt, gt, rngFor(key, 'err'))).toBeNull();
  });
});

describe('generators never throw untyped errors or leave the image (property)', () => {
  it('holds for random masks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 24 }),
        fc.integer(),
        fc.uint8Array({ minLength: 576, maxLength: 576, min: 0, max: 1 }),
        (w, h, seed, bits) => {
          const m = { width: w, height: h, data: bits.slice(0, w * h) };
          const k = { ...key, seed };
          try {
            const sets = planPrompts(
              m,
              { ...DEFAULT_PROTOCOL, strategies: ['centre-random', 'pos-neg', 'box'] },
              k,
            );
            for (const s of sets) {
              for (const p of s.prompt.points) {
                expect(p.x).toBeGreaterThanOrEqual(0);
                expect(p.y).toBeGreaterThanOrEqual(0);
                expect(p.x).toBeLessThan(w);
                expect(p.y).toBeLessThan(h);
                if (p.label === 1) expect(inside(m, p)).toBe(true);
                else expect(inside(m, p)).toBe(false);
              }
            }
            const extra = randomPositives(m, [], 3, rngFor(k, 'r'));
            for (const p of extra) expect(inside(m, p)).toBe(true);
            jitteredBox(m, 5, rngFor(k, 'b'));
          } catch (e) {
            expect(e).toBeInstanceOf(AppError);
            expect(m.data.every((v) => v === 0)).toBe(true);
          }
        },
      ),
      { seed: 4212, numRuns: 300 },
    );
  });
});
