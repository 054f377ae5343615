import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { modelFrame } from '../geometry';
import { greyToRgb8 } from '../image/intensity';
import { promptPoint } from '../prompts/types';
import type { TensorData } from '../tensor';
import { decodeOutputs, decoderCalls, encoderFeeds, LOW_RES } from './adapters';
import { CONTRACTS, detectPart, pairParts, type ContractId } from './contracts';
import { resizeBilinear, resizeRgbToPlanar, upsampleToMask } from './resample';
import { metaSingleMaskPick, select } from './selection';

const grey = (w: number, h: number, v = 200) => greyToRgb8(new Uint8Array(w * h).fill(v), w, h);
const f32data = (t: TensorData | undefined): Float32Array => {
  if (t?.type !== 'float32') throw new Error('expected float32');
  return t.data;
};
const rowIsZero = (x: Float32Array, row: number) =>
  x.subarray(row * 1024, row * 1024 + 1024).every((v) => v === 0);
const colIsZero = (x: Float32Array, col: number) => {
  for (let r = 0; r < 1024; r++) if (x[r * 1024 + col] !== 0) return false;
  return true;
};

describe('encoder preprocessing pins each contract’s frame on non-square images', () => {
  it('sam1-meta: longest side 1024 with rounding, zero padding below row 691 for 800×540', () => {
    const { feeds, frame } = encoderFeeds('sam1-meta', grey(800, 540));
    const x = f32data(feeds['input_image']);
    expect(feeds['input_image']?.dims).toEqual([1, 3, 1024, 1024]);
    expect(frame.resized).toEqual({ width: 1024, height: 691 });
    expect(rowIsZero(x, 690)).toBe(false);
    expect(rowIsZero(x, 691)).toBe(true);
    // (200 − 123.675) / 58.395 in the red plane.
    expect(x[0]).toBeCloseTo((200 - 123.675) / 58.395, 5);
  });

  it('hf-sam: transformers.js floors the resized side (500×333 → 681 rows, not 682)', () => {
    const { feeds, frame } = encoderFeeds('hf-sam', grey(500, 333));
    const x = f32data(feeds['pixel_values']);
    expect(frame.resized).toEqual({ width: 1024, height: 681 });
    expect(rowIsZero(x, 680)).toBe(false);
    expect(rowIsZero(x, 681)).toBe(true);
    expect(x[0]).toBeCloseTo((200 / 255 - 0.485) / 0.229, 5);
  });

  it('sam1-meta pads on the right for a portrait image', () => {
    const { feeds } = encoderFeeds('sam1-meta', grey(545, 788));
    const x = f32data(feeds['input_image']);
    expect(colIsZero(x, 707)).toBe(false);
    expect(colIsZero(x, 708)).toBe(true);
  });

  it.each<ContractId>(['sam2-samexporter', 'hf-sam2'])('%s stretches to 1024² without padding', (c) => {
    const { feeds, frame } = encoderFeeds(c, grey(800, 540));
    const x = f32data(Object.values(feeds)[0]);
    expect(frame.resized).toEqual({ width: 1024, height: 1024 });
    expect(rowIsZero(x, 1023)).toBe(false);
    expect(colIsZero(x, 1023)).toBe(false);
    expect(x[1024 * 1024 * 3 - 1]).toBeCloseTo((200 / 255 - 0.406) / 0.225, 5);
  });

  it('keeps a sharp edge where it belongs after the stretch (no centre crop)', () => {
    // Left half black, right half white, 100×50 → the edge stays at x = 512 of 1024.
    const g = new Uint8Array(100 * 50);
    for (let y = 0; y < 50; y++) for (let x = 50; x < 100; x++) g[y * 100 + x] = 255;
    const { feeds } = encoderFeeds('sam2-samexporter', greyToRgb8(g, 100, 50));
    const x = f32data(feeds['image']);
    const lowV = (0 - 0.485) / 0.229;
    const highV = (1 - 0.485) / 0.229;
    expect(x[500 * 1024 + 500]).toBeCloseTo(lowV, 4);
    expect(x[500 * 1024 + 524]).toBeCloseTo(highV, 4);
  });

  it('offers the sam1-meta in-graph variant the resized HWC image, rounded to 8 bits', () => {
    const { feeds } = encoderFeeds('sam1-meta', grey(800, 540, 77), { preprocessInGraph: true });
    expect(feeds['input_image']?.dims).toEqual([691, 1024, 3]);
    expect(f32data(feeds['input_image'])[0]).toBe(77);
  });

  it('converts the input to float16 when the graph wants it', () => {
    const { feeds } = encoderFeeds('sam2-samexporter', grey(10, 10), { inputType: 'float16' });
    expect(feeds['image']?.type).toBe('float16');
  });
});

describe('decoder feeds', () => {
  it('sam1-meta appends one padding point (label −1) to clicks, none with a box', () => {
    const frame = modelFrame('longest-side', { width: 800, height: 540 });
    const [call] = decoderCalls(
      'sam1-meta',
      { prompts: [{ points: [promptPoint(799, 539, 1)] }], frame },
      [],
    );
    expect(call!.feeds['point_coords']?.dims).toEqual([1, 2, 2]);
    const c = f32data(call!.feeds['point_coords']);
    expect(c[0]).toBeCloseTo((799 * 1024) / 800, 3); // float32
    expect(c[1]).toBeCloseTo((539 * 691) / 540, 3);
    expect([...f32data(call!.feeds['point_labels'])]).toEqual([1, -1]);
    expect([...f32data(call!.feeds['orig_im_size'])]).toEqual([540, 800]);
    const [boxCall] = decoderCalls(
      'sam1-meta',
      { prompts: [{ points: [], box: { x0: 10, y0: 20, x1: 30, y1: 40 } }], frame },
      [],
    );
    expect([...f32data(boxCall!.feeds['point_labels'])]).toEqual([2, 3]);
  });

  it('sam2-samexporter scales by 1024/W and 1024/H, adds no padding point and batches equal-length sets with one has_mask_input', () => {
    const frame = modelFrame('stretch', { width: 800, height: 540 });
    const calls = decoderCalls(
      'sam2-samexporter',
      {
        prompts: [
          { points: [promptPoint(400, 270, 1)] },
          { points: [promptPoint(10, 10, 1), promptPoint(20, 20, 0)] },
          { points: [promptPoint(100, 100, 1)] },
        ],
        frame,
      },
      [],
    );
    expect(calls).toHaveLength(2);
    expect(calls[0]!.setIndices).toEqual([0, 2]);
    expect(calls[0]!.feeds['point_coords']?.dims).toEqual([2, 1, 2]);
    const c = f32data(calls[0]!.feeds['point_coords']);
    expect(c[0]).toBeCloseTo(512, 9);
    expect(c[1]).toBeCloseTo(512, 9);
    expect([...f32data(calls[1]!.feeds['point_labels'])]).toEqual([1, 0]);
    // has_mask_input is [1] whatever L is: the real graph multiplies it into [L, 256, 64, 64]
    // (samexporter export_sam2.py), so an [L] tensor fails there for L = 2, 3.
    expect(calls[0]!.feeds['has_mask_input']?.dims).toEqual([1]);
    expect(calls[1]!.feeds['has_mask_input']?.dims).toEqual([1]);
  });

  it('hf layouts use int64 labels, [1, L, N, 2] points and an empty box tensor for clicks only', () => {
    const frame = modelFrame('stretch', { width: 800, height: 540 });
    const [call] = decoderCalls(
      'hf-sam2',
      { prompts: [{ points: [promptPoint(1, 2, 1), promptPoint(3, 4, 0)] }], frame },
      ['input_boxes'],
    );
    expect(call!.feeds['input_points']?.dims).toEqual([1, 1, 2, 2]);
    expect(call!.feeds['input_labels']?.type).toBe('int64');
    expect(call!.feeds['input_boxes']?.dims).toEqual([1, 0, 4]);
    const [noBox] = decoderCalls('hf-sam', { prompts: [{ points: [promptPoint(1, 2, 1)] }], frame }, []);
    expect(noBox!.feeds['input_boxes']).toBeUndefined();
  });

  it('refuses a box for an hf export without input_boxes, and an empty prompt', () => {
    const frame = modelFrame('longest-side-floor', { width: 80, height: 50 });
    expect(() =>
      decoderCalls('hf-sam', { prompts: [{ points: [], box: { x0: 1, y0: 1, x1: 5, y1: 5 } }], frame }, []),
    ).toThrow(AppError);
    expect(() => decoderCalls('sam1-meta', { prompts: [{ points: [] }], frame }, [])).toThrow(/empty/);
  });
});

describe('output decoding', () => {
  it('upsamples SAM 2 low-res logits straight to the slice and thresholds at 0', () => {
    const frame = modelFrame('stretch', { width: 100, height: 60 });
    const low = new Float32Array(3 * LOW_RES * LOW_RES).fill(-1);
    // Left half positive in candidate 1.
    for (let r = 0; r < LOW_RES; r++)
      for (let c = 0; c < 128; c++) low[LOW_RES * LOW_RES + r * LOW_RES + c] = 1;
    const [set] = decodeOutputs(
      'sam2-samexporter',
      {
        masks: { type: 'float32', data: low, dims: [1, 3, 256, 256] },
        iou_predictions: { type: 'float32', data: Float32Array.of(0.1, 0.9, 0.5), dims: [1, 3] },
      },
      { feeds: {}, setIndices: [0], pointsPerSet: 1 },
      frame,
    );
    expect(set!.candidates[0]!.area).toBe(0);
    expect(set!.candidates[1]!.area).toBe(50 * 60);
    expect(select(set!, 'predicted-iou')).toEqual({ kind: 'candidate', index: 1 });
    expect(select(set!, 'first')).toEqual({ kind: 'candidate', index: 0 });
  });

  it('crops the padded frame for hf-sam before resizing to the slice', () => {
    // 100×50 image → resized 1024×512: low-res rows ≥ 128 are padding and must not reach the mask.
    const frame = modelFrame('longest-side-floor', { width: 100, height: 50 });
    const low = new Float32Array(3 * LOW_RES * LOW_RES).fill(-1);
    for (let r = 128; r < LOW_RES; r++) for (let c = 0; c < LOW_RES; c++) low[r * LOW_RES + c] = 5;
    const [set] = decodeOutputs(
      'hf-sam',
      {
        pred_masks: { type: 'float32', data: low, dims: [1, 1, 3, 256, 256] },
        iou_scores: { type: 'float32', data: Float32Array.of(1, 0, 0), dims: [1, 1, 3] },
      },
      { feeds: {}, setIndices: [0], pointsPerSet: 1 },
      frame,
    );
    // Only a sliver at the bottom edge can touch the padding through bilinear blending.
    expect(set!.candidates[0]!.area).toBeLessThanOrEqual(100);
  });

  it('rejects outputs of the wrong shape with a typed error naming them', () => {
    const frame = modelFrame('stretch', { width: 10, height: 10 });
    expect(() =>
      decodeOutputs(
        'sam2-samexporter',
        { masks: { type: 'float32', data: new Float32Array(4), dims: [1, 1, 2, 2] } },
        { feeds: {}, setIndices: [0], pointsPerSet: 1 },
        frame,
      ),
    ).toThrow(/masks/);
  });
});

describe('contract detection by graph names', () => {
  it.each<[ContractId, 'encoder' | 'decoder', string[], string[]]>([
    ['sam1-meta', 'encoder', ['input_image'], ['image_embeddings']],
    [
      'sam1-meta',
      'decoder',
      ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'],
      ['masks', 'iou_predictions', 'low_res_masks'],
    ],
    ['sam2-samexporter', 'encoder', ['image'], ['high_res_feats_0', 'high_res_feats_1', 'image_embed']],
    [
      'sam2-samexporter',
      'decoder',
      [
        'image_embed',
        'high_res_feats_0',
        'high_res_feats_1',
        'point_coords',
        'point_labels',
        'mask_input',
        'has_mask_input',
      ],
      ['masks', 'iou_predictions'],
    ],
    ['hf-sam', 'encoder', ['pixel_values'], ['image_embeddings', 'image_positional_embeddings']],
    [
      'hf-sam',
      'decoder',
      ['image_embeddings', 'image_positional_embeddings', 'input_points', 'input_labels'],
      ['iou_scores', 'pred_masks'],
    ],
    [
      'hf-sam2',
      'encoder',
      ['pixel_values'],
      ['image_embeddings.0', 'image_embeddings.1', 'image_embeddings.2'],
    ],
    [
      'hf-sam2',
      'decoder',
      [
        'image_embeddings.0',
        'image_embeddings.1',
        'image_embeddings.2',
        'input_points',
        'input_labels',
        'input_boxes',
      ],
      ['iou_scores', 'pred_masks', 'object_score_logits'],
    ],
  ])('recognises %s %s', (contract, role, inputs, outputs) => {
    expect(detectPart({ inputs, outputs })).toMatchObject({ contract, role });
    expect(CONTRACTS[contract].family).toBe(contract.includes('2') ? 'SAM 2' : 'SAM');
  });

  it('lists what it found for an unknown graph', () => {
    try {
      detectPart({ inputs: ['input_ids'], outputs: ['logits'] });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('model-contract');
      expect((e as AppError).message).toContain('input_ids');
      expect((e as AppError).message).toContain('logits');
    }
  });

  it('names the onnxruntime SAM 2 export as recognised but unsupported', () => {
    expect(() =>
      detectPart({
        inputs: ['image'],
        outputs: ['image_features_0', 'image_features_1', 'image_embeddings'],
      }),
    ).toThrow(/ort-sam2/);
  });

  it('refuses pairs from different exports', () => {
    expect(() =>
      pairParts({ contract: 'sam1-meta', role: 'encoder' }, { contract: 'hf-sam', role: 'decoder' }),
    ).toThrow(AppError);
  });
});

describe('resampling', () => {
  it('matches torch bilinear (align_corners=False) on a 2×2 → 4×4 upsample', () => {
    // torch.nn.functional.interpolate(tensor([[0.,1.],[2.,3.]])[None,None], size=4, mode='bilinear')
    const out = resizeBilinear(Float32Array.of(0, 1, 2, 3), 2, 2, 4, 4);
    expect([...out].map((v) => +v.toFixed(4))).toEqual([
      0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3,
    ]);
  });

  it('equals the per-pixel torch formula bit for bit on the sizes SAM uses (up, down, cropped)', () => {
    // The definition, one output pixel at a time: source (x + 0.5)·in/out − 0.5, clamped at 0.
    const direct = (
      src: Float32Array,
      inW: number,
      inH: number,
      outW: number,
      outH: number,
      cw: number,
      ch: number,
    ) => {
      const out = new Float32Array(cw * ch);
      for (let y = 0; y < ch; y++) {
        const fy = Math.max(0, (y + 0.5) * (inH / outH) - 0.5);
        const y0 = Math.min(Math.floor(fy), inH - 1);
        const y1 = Math.min(y0 + 1, inH - 1);
        const wy = fy - y0;
        for (let x = 0; x < cw; x++) {
          const fx = Math.max(0, (x + 0.5) * (inW / outW) - 0.5);
          const x0 = Math.min(Math.floor(fx), inW - 1);
          const x1 = Math.min(x0 + 1, inW - 1);
          const wx = Math.fround(fx - x0);
          const top = src[y0 * inW + x0]! * (1 - wx) + src[y0 * inW + x1]! * wx;
          const bot = src[y1 * inW + x0]! * (1 - wx) + src[y1 * inW + x1]! * wx;
          out[y * cw + x] = top * (1 - wy) + bot * wy;
        }
      }
      return out;
    };
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 20 - 10;
    const cases: [number, number, number, number, number, number][] = [
      [256, 256, 1024, 1024, 1024, 683], // low-res logits → padded 1024 frame, cropped to a 3:2 slice
      [1024, 683, 512, 341, 512, 341], // cropped frame → the original slice (downsampling)
      [256, 256, 333, 217, 333, 217], // SAM 2: straight to an odd original size
      [7, 5, 3, 9, 3, 9],
    ];
    for (const [inW, inH, outW, outH, cw, ch] of cases) {
      const src = Float32Array.from({ length: inW * inH }, rand);
      expect(resizeBilinear(src, inW, inH, outW, outH, cw, ch)).toEqual(
        direct(src, inW, inH, outW, outH, cw, ch),
      );
    }
  });

  it('upsamples logits to masks through reused scratch exactly as resize-then-threshold does', () => {
    const threshold = (f: Float32Array) => Uint8Array.from(f, (v) => (v > 0 ? 1 : 0));
    const low = Float32Array.from({ length: 256 * 256 }, (_, i) => Math.sin(i / 31) * 3 + Math.cos(i / 977));
    // Large, then smaller, then large again: a reused buffer must never leak values between calls.
    for (const [w, h, rw, rh] of [
      [640, 480, 1024, 768],
      [97, 300, 331, 1024],
      [512, 512, 1024, 1024],
    ] as const) {
      const sam = upsampleToMask(low, 256, 256, w, h, { side: 1024, cropW: rw, cropH: rh });
      const want = threshold(resizeBilinear(resizeBilinear(low, 256, 256, 1024, 1024, rw, rh), rw, rh, w, h));
      expect(sam.mask).toEqual(want);
      expect(sam.area).toBe(want.reduce((a, v) => a + v, 0));
      const sam2 = upsampleToMask(low, 256, 256, w, h);
      expect(sam2.mask).toEqual(threshold(resizeBilinear(low, 256, 256, w, h)));
    }
  });

  it('antialiases when shrinking (PIL-style): a 1-px checkerboard averages to grey', () => {
    const w = 64;
    const g = new Uint8Array(w * w);
    for (let i = 0; i < g.length; i++) g[i] = ((i % w) + Math.floor(i / w)) % 2 ? 255 : 0;
    const out = resizeRgbToPlanar(greyToRgb8(g, w, w), 16, 16, true);
    for (const v of out.subarray(0, 256)) expect(Math.abs(v - 127.5)).toBeLessThanOrEqual(1);
  });
});

describe("Meta's single-mask rule", () => {
  it('counts the padding point: 1 click + pad → best multimask; 2 clicks + pad → token 0', () => {
    expect(metaSingleMaskPick(2)).toBe('best-multimask');
    expect(metaSingleMaskPick(3)).toBe('token0');
    // Box alone: two corner points, no padding.
    expect(metaSingleMaskPick(2)).toBe('best-multimask');
  });
});
