import { describe, expect, it } from 'vitest';
import {
  applyAffine,
  imagePx,
  imageToModel,
  invertAffine,
  longestSideFloorSize,
  longestSideSize,
  modelFrame,
  modelPx,
  modelToImage,
  type FrameKind,
} from './index';

const SIZES = [
  { width: 512, height: 512, name: 'square' },
  { width: 800, height: 540, name: 'landscape (HC18)' },
  { width: 545, height: 788, name: 'portrait (HC18 case 500)' },
  { width: 181, height: 258, name: 'small portrait (SAM-Med2D s0114)' },
  { width: 122, height: 101, name: 'tiny landscape (TotalSegmentator ct_sm)' },
];
const KINDS: FrameKind[] = ['longest-side', 'longest-side-floor', 'stretch'];

describe('SAM longest-side resize', () => {
  it('follows ResizeLongestSide: int(H*1024/max + 0.5)', () => {
    // Hand computed: 540*1024/800 = 691.2 -> 691; 545*1024/788 = 708.22 -> 708; 333*1024/500 = 681.98 -> 682.
    expect(longestSideSize({ width: 800, height: 540 })).toEqual({ width: 1024, height: 691 });
    expect(longestSideSize({ width: 545, height: 788 })).toEqual({ width: 708, height: 1024 });
    expect(longestSideSize({ width: 500, height: 333 })).toEqual({ width: 1024, height: 682 });
    expect(longestSideSize({ width: 64, height: 64 })).toEqual({ width: 1024, height: 1024 });
  });

  it('transformers.js layout floors instead of rounding', () => {
    expect(longestSideFloorSize({ width: 500, height: 333 })).toEqual({ width: 1024, height: 681 });
    expect(longestSideFloorSize({ width: 800, height: 540 })).toEqual({ width: 1024, height: 691 });
  });

  it('rejects empty or fractional sizes', () => {
    expect(() => longestSideSize({ width: 0, height: 10 })).toThrow(RangeError);
    expect(() => modelFrame('stretch', { width: 10.5, height: 10 })).toThrow(RangeError);
  });
});

describe('image <-> model frame', () => {
  for (const size of SIZES) {
    for (const kind of KINDS) {
      it(`round-trips points on a ${size.name} image, ${kind}`, () => {
        const frame = modelFrame(kind, size);
        const pts = [
          imagePx(0, 0),
          imagePx(size.width - 1, size.height - 1),
          imagePx(size.width / 3, size.height * 0.77),
          imagePx(size.width - 1, 0),
        ];
        for (const p of pts) {
          const back = modelToImage(frame, imageToModel(frame, p));
          expect(back.x).toBeCloseTo(p.x, 9);
          expect(back.y).toBeCloseTo(p.y, 9);
        }
      });

      it(`maps the far corner inside the resized content on a ${size.name} image, ${kind}`, () => {
        const frame = modelFrame(kind, size);
        const far = imageToModel(frame, imagePx(size.width - 1, size.height - 1));
        expect(far.x).toBeLessThan(frame.resized.width);
        expect(far.y).toBeLessThan(frame.resized.height);
        // One pixel in from the far edge of the resized content, within one resize step.
        expect(frame.resized.width - far.x).toBeCloseTo(frame.scaleX, 9);
        expect(frame.resized.height - far.y).toBeCloseTo(frame.scaleY, 9);
      });
    }
  }

  it('scales x by the width ratio and y by the height ratio (non-square trap)', () => {
    const frame = modelFrame('stretch', { width: 800, height: 540 });
    const p = imageToModel(frame, imagePx(400, 270));
    expect(p.x).toBeCloseTo(512, 9);
    expect(p.y).toBeCloseTo(512, 9);
    const lp = imageToModel(modelFrame('longest-side', { width: 800, height: 540 }), imagePx(400, 270));
    expect(lp.x).toBeCloseTo(512, 9);
    expect(lp.y).toBeCloseTo((270 * 691) / 540, 9);
  });

  it('keeps a portrait stretch asymmetric', () => {
    const frame = modelFrame('stretch', { width: 545, height: 788 });
    expect(frame.scaleX).toBeCloseTo(1024 / 545, 12);
    expect(frame.scaleY).toBeCloseTo(1024 / 788, 12);
    const back = modelToImage(frame, modelPx(1024, 1024));
    expect(back.x).toBeCloseTo(545, 9);
    expect(back.y).toBeCloseTo(788, 9);
  });
});

describe('affine helpers', () => {
  it('inverts an affine map', () => {
    const m = [2, 0.5, 10, -0.25, 3, -4] as const;
    const inv = invertAffine(m);
    const p = applyAffine(m, 7, -3);
    const q = applyAffine(inv, p.x, p.y);
    expect(q.x).toBeCloseTo(7, 10);
    expect(q.y).toBeCloseTo(-3, 10);
  });
  it('rejects a singular map', () => {
    expect(() => invertAffine([1, 2, 0, 2, 4, 0])).toThrow(RangeError);
  });
});
