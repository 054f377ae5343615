/** The runtime-free ONNX header reader agrees with onnxruntime on names, and refuses non-models. */
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { fixturePair, hfSam2EncoderExternal, type FixtureContract } from '../../tools/fixtures/sam-fixtures';
import { AppError } from '../core/errors';
import { detectPart } from '../core/models/contracts';
import { isTestFixture, readOnnxHeader } from '../core/models/onnx-header';

ort.env.wasm.numThreads = 1;

describe('ONNX header reader', () => {
  it.each<FixtureContract>(['sam1-meta', 'sam2-samexporter', 'hf-sam', 'hf-sam2'])(
    'reads the same I/O names as onnxruntime for %s',
    async (c) => {
      const { encoder, decoder } = fixturePair(c);
      for (const bytes of [encoder, decoder]) {
        const h = readOnnxHeader(bytes);
        const s = await ort.InferenceSession.create(bytes);
        expect(h.inputs).toEqual(s.inputNames);
        expect(h.outputs).toEqual(s.outputNames);
        expect(h.opsets).toContainEqual({ domain: '', version: 17 });
        expect(isTestFixture(h)).toBe(true);
        expect(detectPart(h).contract).toBe(c);
        await s.release();
      }
    },
  );

  it('lists external data files, and onnxruntime loads the pair when given them', async () => {
    const { encoder, data } = hfSam2EncoderExternal('vision_encoder.onnx_data');
    const h = readOnnxHeader(encoder);
    expect(h.externalDataFiles).toEqual(['vision_encoder.onnx_data']);
    const s = await ort.InferenceSession.create(encoder, {
      externalData: [{ path: 'vision_encoder.onnx_data', data }],
    });
    expect(s.outputNames).toContain('image_embeddings.0');
    await s.release();
  });

  it('calls an HTML page a missing model, not a protobuf error', () => {
    const html = new TextEncoder().encode('<!DOCTYPE html><html><body>Entry not found</body></html>');
    try {
      readOnnxHeader(html);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('model-missing');
      expect((e as AppError).message).toMatch(/Model file missing or damaged.*HTML/);
    }
  });

  it.each([0.2, 0.5, 0.9])('calls a file truncated at %s of its length damaged', (frac) => {
    const { decoder } = fixturePair('sam1-meta');
    const cut = decoder.subarray(0, Math.floor(decoder.length * frac));
    expect(() => readOnnxHeader(cut)).toThrow(AppError);
    try {
      readOnnxHeader(cut);
    } catch (e) {
      expect((e as AppError).code).toBe('model-integrity');
    }
  });

  it('refuses random bytes', () => {
    const junk = new Uint8Array(1000).map((_, i) => (i * 7919 + 13) % 251);
    expect(() => readOnnxHeader(junk)).toThrow(AppError);
  });

  it('recognises the ORT flatbuffer format without parsing it', () => {
    const b = new Uint8Array(64);
    b.set([0x4f, 0x52, 0x54, 0x4d], 4);
    expect(readOnnxHeader(b).format).toBe('ort');
  });
});
