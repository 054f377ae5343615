import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { count, diskMask, rectMask } from '../testing/shapes';
import {
  applyLinear,
  CT_PRESETS,
  describeWindow,
  percentiles,
  resolveWindow,
  sliceToRgb8,
  windowBounds,
  windowByName,
  WINDOW_CHOICES,
} from './intensity';
import { boundary, connectedComponents, fillOutline, squaredDistanceToFeatures } from './morphology';
import type { Mat3, Vec3, Volume } from './types';
import {
  assertSameGrid,
  axialSlice,
  canonicalize,
  labelAreasPerSlice,
  labelValues,
  maskOfLabel,
  voxelToWorld,
  worldToVoxel,
} from './volume';

function vol(dims: Vec3, direction: Mat3, data?: Int16Array, spacing: Vec3 = [1, 2, 3]): Volume {
  const n = dims[0] * dims[1] * dims[2];
  return {
    dims,
    spacing,
    spacingKnown: true,
    origin: [10, -20, 30],
    direction,
    data: data ?? Int16Array.from({ length: n }, (_, i) => i),
    modality: 'CT',
  };
}

describe('CT windowing', () => {
  it('maps W400/L40 edges to 0 and 255 and the level to mid-grey', () => {
    const { low, high } = windowBounds(40, 400);
    expect([low, high]).toEqual([-160, 240]);
    const out = applyLinear(Float32Array.from([-1000, -160, 40, 240, 3000]), low, high);
    expect([...out]).toEqual([0, 0, 128, 255, 255]);
    expect(describeWindow({ kind: 'window', center: 40, width: 400 })).toBe('W400/L40');
  });

  it('replicates the windowed grey value into three equal RGB channels', () => {
    const slice = {
      width: 2,
      height: 1,
      data: Int16Array.from([-160, 240]),
      spacing: [1, 1] as const,
      spacingKnown: true,
    };
    const { image } = sliceToRgb8(slice, { kind: 'window', center: 40, width: 400 });
    expect([...image.data]).toEqual([0, 0, 0, 255, 255, 255]);
  });
});

describe('percentile scaling', () => {
  it('matches numpy linear percentiles on 1..100', () => {
    const v = Float32Array.from({ length: 100 }, (_, i) => i + 1);
    const [lo, hi] = percentiles(Int16Array.from(v), [0.5, 99.5]);
    // numpy.percentile(range(1,101), [0.5, 99.5]) = [1.495, 99.505]
    expect(lo).toBeCloseTo(1.495, 9);
    expect(hi).toBeCloseTo(99.505, 9);
  });

  it('is close to exact for float data', () => {
    const v = Float32Array.from({ length: 1001 }, (_, i) => i / 10);
    const [lo, hi] = percentiles(v, [0.5, 99.5]);
    expect(lo).toBeCloseTo(0.5, 2);
    expect(hi).toBeCloseTo(99.5, 2);
  });

  it('records the resolved bounds in the window', () => {
    const v = Int16Array.from({ length: 100 }, (_, i) => i + 1);
    const r = resolveWindow({ kind: 'percentile', lower: 0.5, upper: 99.5, scope: 'slice' }, v);
    expect(r.window).toMatchObject({ low: r.low, high: r.high });
  });
});

describe('volume orientation', () => {
  it('canonicalizes a RAS-ordered grid (i→Right, j→Anterior) while keeping every voxel at its world position', () => {
    // RAS index directions in LPS world: i → −x, j → −y, k → +z.
    const v = vol([3, 4, 2], [-1, 0, 0, 0, -1, 0, 0, 0, 1]);
    const c = canonicalize(v);
    expect(c.direction).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    for (let k = 0; k < 2; k++) {
      for (let j = 0; j < 4; j++) {
        for (let i = 0; i < 3; i++) {
          const value = v.data[k * 12 + j * 3 + i]!;
          const w = voxelToWorld(v, i, j, k);
          const [ci, cj, ck] = worldToVoxel(c, w).map((x) => Math.round(x));
          expect(c.data[ck! * 12 + cj! * 3 + ci!]).toBe(value);
        }
      }
    }
  });

  it('permutes axes of a sagittal-ordered grid', () => {
    // i → +z (S), j → +x (L), k → +y (P)
    const v = vol([2, 3, 4], [0, 0, 1, 1, 0, 0, 0, 1, 0]);
    const c = canonicalize(v);
    expect(c.dims).toEqual([3, 4, 2]);
    expect(c.spacing).toEqual([2, 3, 1]);
    for (let idx = 0; idx < v.data.length; idx++) {
      const i = idx % 2;
      const j = Math.floor(idx / 2) % 3;
      const k = Math.floor(idx / 6);
      const [ci, cj, ck] = worldToVoxel(c, voxelToWorld(v, i, j, k)).map((x) => Math.round(x));
      expect(c.data[ck! * 12 + cj! * 3 + ci!]).toBe(v.data[idx]);
    }
  });

  it('leaves a canonical volume untouched (no copy)', () => {
    const v = vol([2, 2, 2], [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(canonicalize(v)).toBe(v);
  });

  it('slices axially as a view with in-plane spacing', () => {
    const v = vol([3, 2, 2], [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const s = axialSlice(v, 1);
    expect([...s.data]).toEqual([6, 7, 8, 9, 10, 11]);
    expect(s.spacing).toEqual([1, 2]);
    expect(() => axialSlice(v, 2)).toThrow(AppError);
  });
});

describe('grid check', () => {
  const base = vol([4, 4, 2], [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  it('accepts the same grid', () => {
    expect(() => assertSameGrid(base, { ...base })).not.toThrow();
  });
  it.each([
    ['size', { dims: [4, 5, 2] as Vec3 }],
    ['spacing', { spacing: [1, 2, 3.5] as Vec3 }],
    ['origin', { origin: [10, -20, 31] as Vec3 }],
    ['orientation', { direction: [0, 1, 0, 1, 0, 0, 0, 0, 1] as Mat3 }],
    ['frame of reference', { frameOfReference: '1.2.3' }],
  ])('refuses a different %s', (_, change) => {
    const img = { ...base, frameOfReference: '1.2.4' };
    expect(() => assertSameGrid(img, { ...img, ...change })).toThrow(/different grid/);
  });
});

describe('label maps', () => {
  it('lists labels, areas per slice and per-label masks', () => {
    const data = Uint8Array.from([0, 5, 5, 0, 2, 0, 5, 5, 5, 0, 0, 0]);
    const v: Volume = { ...vol([3, 2, 2], [1, 0, 0, 0, 1, 0, 0, 0, 1]), data };
    expect(labelValues(data)).toEqual([2, 5]);
    const areas = labelAreasPerSlice(v);
    expect([...areas.get(5)!]).toEqual([2, 3]);
    expect([...areas.get(2)!]).toEqual([1, 0]);
    expect([...maskOfLabel(data.subarray(0, 6), 3, 2, 5).data]).toEqual([0, 1, 1, 0, 0, 0]);
  });
});

describe('morphology', () => {
  it('counts 8- and 4-connected components', () => {
    const m = {
      width: 4,
      height: 4,
      data: Uint8Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]),
    };
    expect(connectedComponents(m, 8).count).toBe(2);
    expect(connectedComponents(m, 4).count).toBe(3);
    expect(connectedComponents(m, 8).sizes.slice(1).sort()).toEqual([2, 2]);
  });

  it('fills an ellipse outline (HC18 annotations) to the disk it encloses', () => {
    const disk = diskMask(64, 48, 30, 24, 15);
    const outline = { ...disk, data: boundary(disk) };
    const filled = fillOutline(outline);
    expect(count(filled)).toBe(count(disk));
  });

  it('computes exact squared EDT against brute force', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.uint8Array({ minLength: 144, maxLength: 144, min: 0, max: 1 }),
        (w, h, bits) => {
          const f = bits.slice(0, w * h);
          const d = squaredDistanceToFeatures(f, w, h, 1.5, 0.7);
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              let best = Infinity;
              f.forEach((v, i) => {
                if (v)
                  best = Math.min(best, ((x - (i % w)) * 1.5) ** 2 + ((y - Math.floor(i / w)) * 0.7) ** 2);
              });
              if (best === Infinity) expect(d[y * w + x]).toBe(Infinity);
              else expect(d[y * w + x]).toBeCloseTo(best, 9);
            }
          }
        },
      ),
      { seed: 1, numRuns: 200 },
    );
  });

  it('finds a rectangle boundary', () => {
    const r = rectMask(10, 10, 2, 2, 6, 5);
    expect(count({ ...r, data: boundary(r) })).toBe(2 * 5 + 2 * 2);
  });
});

describe('window catalogue', () => {
  it('offers every CT preset, both percentile scopes, identity and auto, each resolving to its window', () => {
    expect(WINDOW_CHOICES.map((c) => c.id)).toEqual([
      'auto',
      ...CT_PRESETS.map((p) => p.id),
      'percentile',
      'percentile-volume',
      'identity',
    ]);
    expect(windowByName('auto')).toBeUndefined();
    expect(windowByName('liver')).toEqual({ kind: 'window', center: 30, width: 150 });
    expect(windowByName('percentile-volume')).toEqual({
      kind: 'percentile',
      lower: 0.5,
      upper: 99.5,
      scope: 'volume',
    });
    expect(windowByName('nonsense')).toBeUndefined();
  });
});
