/**
 * End-to-end pipeline on contract fixtures under Node (onnxruntime-web, wasm backend):
 * slice → preprocessing → encoder → prompts → decoder → mask → Dice, for every contract.
 */
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixturePair, sam1MetaEncoder, type FixtureContract } from '../../tools/fixtures/sam-fixtures';
import { AppError } from '../core/errors';
import { area } from '../core/image/morphology';
import type { Mask } from '../core/image/types';
import { dice } from '../core/metrics';
import { selectedMask, select } from '../core/models';
import { centreClick, promptPoint, rngFor, type PromptSet } from '../core/prompts';
import { twoShapeScene } from '../core/testing/synthetic';
import { SamPipeline } from './pipeline';

ort.env.wasm.numThreads = 1;

const CONTRACTS: FixtureContract[] = ['sam1-meta', 'sam2-samexporter', 'hf-sam', 'hf-sam2'];
const key = { seed: 1, caseId: 'synthetic', slice: 0, label: 1 };

function centre(m: Mask): PromptSet {
  const c = centreClick(m, rngFor(key, 'centre'));
  return { points: [promptPoint(c.x, c.y, 1)] };
}

describe.each(CONTRACTS)('%s fixture pipeline', (contract) => {
  let pipe: SamPipeline;
  beforeAll(async () => {
    const { encoder, decoder } = fixturePair(contract);
    pipe = await SamPipeline.create(encoder, decoder);
  });

  it('detects its contract from the graphs', () => {
    expect(pipe.contract).toBe(contract);
  });

  for (const [w, h, name] of [
    [800, 540, 'landscape 800×540'],
    [545, 788, 'portrait 545×788'],
  ] as const) {
    describe(name, () => {
      const scene = twoShapeScene(w, h);
      const masks = scene.masks;

      it('segments each shape from its centre click (Dice ≥ 0.9), including the far-corner one', async () => {
        const { embedding } = await pipe.encode(scene.image);
        const prompts = [centre(masks.disk), centre(masks.rect), centre(masks.corner)];
        const { sets } = await pipe.decode(embedding, prompts);
        expect(dice(selectedMask(sets[0]!, 'predicted-iou'), masks.disk)).toBeGreaterThanOrEqual(0.9);
        expect(dice(selectedMask(sets[1]!, 'predicted-iou'), masks.rect)).toBeGreaterThanOrEqual(0.9);
        expect(dice(selectedMask(sets[2]!, 'predicted-iou'), masks.corner)).toBeGreaterThanOrEqual(0.9);
        for (const s of sets) {
          expect(s.width).toBe(w);
          expect(s.height).toBe(h);
          expect(s.candidates).toHaveLength(3);
        }
      });

      it('gives a background click little overlap with either shape (Dice ≤ 0.1)', async () => {
        const { embedding } = await pipe.encode(scene.image);
        const { sets } = await pipe.decode(embedding, [
          { points: [promptPoint(Math.round(w * 0.05), Math.round(h * 0.08), 1)] },
        ]);
        const m = selectedMask(sets[0]!, 'predicted-iou');
        expect(dice(m, masks.disk)).toBeLessThanOrEqual(0.1);
        expect(dice(m, masks.rect)).toBeLessThanOrEqual(0.1);
      });

      it('shrinks the mask when a negative click is added inside the shape', async () => {
        const { embedding } = await pipe.encode(scene.image);
        const c = centreClick(masks.disk, rngFor(key, 'centre'));
        const r = Math.round(Math.min(w, h) * 0.2);
        const pos = { points: [promptPoint(c.x, c.y, 1)] };
        const posNeg = { points: [promptPoint(c.x, c.y, 1), promptPoint(c.x + Math.round(r * 0.8), c.y, 0)] };
        const { sets } = await pipe.decode(embedding, [pos, posNeg]);
        const a1 = area(selectedMask(sets[0]!, 'first'));
        const a2 = area(selectedMask(sets[1]!, 'first'));
        expect(a2).toBeLessThan(a1 * 0.95);
        // The negative click's pixel is removed.
        expect(selectedMask(sets[1]!, 'first').data[c.y * w + c.x + Math.round(r * 0.8)]).toBe(0);
      });

      it('segments a shape from a box prompt', async () => {
        const { embedding } = await pipe.encode(scene.image);
        const { sets } = await pipe.decode(embedding, [
          {
            points: [],
            box: {
              x0: Math.round(w * 0.6) - 4,
              y0: Math.round(h * 0.25) - 4,
              x1: Math.round(w * 0.85) + 4,
              y1: Math.round(h * 0.7) + 4,
            },
          },
        ]);
        expect(dice(selectedMask(sets[0]!, 'predicted-iou'), masks.rect)).toBeGreaterThanOrEqual(0.85);
      });
    });
  }

  it('decodes batched prompt sets exactly as one at a time', async () => {
    const scene = twoShapeScene(640, 480);
    const { embedding } = await pipe.encode(scene.image);
    const a = centre(scene.masks.disk);
    const b = centre(scene.masks.rect);
    const both = await pipe.decode(embedding, [a, b]);
    const one = await pipe.decode(embedding, [b]);
    expect(both.sets[1]!.candidates.map((c) => c.predictedIou)).toEqual(
      one.sets[0]!.candidates.map((c) => c.predictedIou),
    );
    expect(
      dice(
        { ...scene.masks.rect, data: both.sets[1]!.candidates[0]!.mask },
        { ...scene.masks.rect, data: one.sets[0]!.candidates[0]!.mask },
      ),
    ).toBe(1);
  });

  it('rejects a wrong dtype or shape with a typed error naming the input', async () => {
    const scene = twoShapeScene(320, 200);
    const { embedding } = await pipe.encode(scene.image);
    const labelsName =
      contract === 'sam1-meta' || contract === 'sam2-samexporter' ? 'point_labels' : 'input_labels';
    const pointsName =
      contract === 'sam1-meta' || contract === 'sam2-samexporter' ? 'point_coords' : 'input_points';
    const good: Record<string, ort.Tensor> = { ...embedding.tensors };
    if (contract === 'sam1-meta') {
      good.point_coords = new ort.Tensor('float32', new Float32Array(4), [1, 2, 2]);
      good.point_labels = new ort.Tensor('float32', Float32Array.of(1, -1), [1, 2]);
      good.mask_input = new ort.Tensor('float32', new Float32Array(65536), [1, 1, 256, 256]);
      good.has_mask_input = new ort.Tensor('float32', Float32Array.of(0), [1]);
      good.orig_im_size = new ort.Tensor('float32', Float32Array.of(200, 320), [2]);
    } else if (contract === 'sam2-samexporter') {
      good.point_coords = new ort.Tensor('float32', new Float32Array(2), [1, 1, 2]);
      good.point_labels = new ort.Tensor('float32', Float32Array.of(1), [1, 1]);
      good.mask_input = new ort.Tensor('float32', new Float32Array(65536), [1, 1, 256, 256]);
      good.has_mask_input = new ort.Tensor('float32', Float32Array.of(0), [1]);
    } else {
      good.input_points = new ort.Tensor('float32', new Float32Array(2), [1, 1, 1, 2]);
      good.input_labels = new ort.Tensor('int64', BigInt64Array.of(1n), [1, 1, 1]);
      good.input_boxes = new ort.Tensor('float32', new Float32Array(0), [1, 0, 4]);
    }
    await expect(pipe.runDecoderChecked(good)).resolves.toBeDefined();
    const labels = good[labelsName]!;
    const wrongType =
      labels.type === 'int64'
        ? new ort.Tensor('float32', Float32Array.from(labels.data as BigInt64Array, Number), labels.dims)
        : new ort.Tensor(
            'int64',
            BigInt64Array.from(labels.data as Float32Array, (v) => BigInt(v)),
            labels.dims,
          );
    const err1 = await pipe.runDecoderChecked({ ...good, [labelsName]: wrongType }).catch((e: unknown) => e);
    expect(err1).toBeInstanceOf(AppError);
    expect((err1 as AppError).code).toBe('tensor-mismatch');
    expect((err1 as AppError).subject).toBe(labelsName);
    expect((err1 as AppError).message).toContain(labelsName);
    const pts = good[pointsName]!;
    const wrongShape = new ort.Tensor('float32', new Float32Array(pts.size + pts.size / 2), [
      ...pts.dims.slice(0, -1),
      3,
    ]);
    const err2 = await pipe.runDecoderChecked({ ...good, [pointsName]: wrongShape }).catch((e: unknown) => e);
    expect((err2 as AppError).code).toBe('tensor-mismatch');
    expect((err2 as AppError).subject).toBe(pointsName);
  });
});

describe('sam1-meta specifics', () => {
  it("applies Meta's single-mask rule: one click picks the best multimask, two clicks pick token 0", async () => {
    const { encoder, decoder } = fixturePair('sam1-meta');
    const pipe = await SamPipeline.create(encoder, decoder);
    const scene = twoShapeScene(400, 300);
    const { embedding } = await pipe.encode(scene.image);
    const c = centreClick(scene.masks.disk, rngFor(key, 'centre'));
    const { sets } = await pipe.decode(embedding, [
      { points: [promptPoint(c.x, c.y, 1)] },
      { points: [promptPoint(c.x, c.y, 1), promptPoint(c.x + 5, c.y, 1)] },
    ]);
    expect(sets[0]!.pointsInCall).toBe(2); // click + padding point
    expect(select(sets[0]!, 'single')).toEqual({
      kind: 'candidate',
      index:
        select(sets[0]!, 'predicted-iou').kind === 'candidate'
          ? (select(sets[0]!, 'predicted-iou') as { index: number }).index
          : -1,
    });
    expect(sets[1]!.pointsInCall).toBe(3);
    expect(select(sets[1]!, 'single')).toEqual({ kind: 'single' });
    expect(sets[0]!.single).toBeDefined();
    await pipe.release();
  });

  it('runs the preprocess-in-graph encoder variant to the same masks', async () => {
    const { encoder, decoder } = fixturePair('sam1-meta');
    const a = await SamPipeline.create(encoder, decoder);
    const b = await SamPipeline.create(sam1MetaEncoder({}, true), decoder);
    expect(b.encoderPart.preprocessInGraph).toBe(true);
    const scene = twoShapeScene(300, 420);
    const p = [centre(scene.masks.rect)];
    const ra = await a.decode((await a.encode(scene.image)).embedding, p);
    const rb = await b.decode((await b.encode(scene.image)).embedding, p);
    const m = scene.masks.rect;
    expect(
      dice({ ...m, data: ra.sets[0]!.candidates[1]!.mask }, { ...m, data: rb.sets[0]!.candidates[1]!.mask }),
    ).toBeGreaterThan(0.999);
    await a.release();
    await b.release();
  });

  it('refuses an encoder and decoder from different exports', async () => {
    const a = fixturePair('sam1-meta');
    const b = fixturePair('hf-sam2');
    const err = await SamPipeline.create(a.encoder, b.decoder).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('model-contract');
  });

  it('refuses bytes that are not ONNX with a typed error', async () => {
    const html = new TextEncoder().encode('<!doctype html><title>404</title>');
    const err = await SamPipeline.create(html, html).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
  });
});
