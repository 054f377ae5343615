/** Downloading, verifying and caching models against the local stand-in for the hub, with faults. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModelHost, type ModelHost } from '../../tools/model-host';
import { fixturePair, hfSam2EncoderExternal } from '../../tools/fixtures/sam-fixtures';
import { presetFixture } from '../../tools/fixtures/presets';
import { AppError } from '../core/errors';
import { presetById } from '../core/models/registry';
import { fetchModelFile, MemoryModelCache, sha256Hex, type DownloadProgress } from './model-fetch';
import { loadLocalFiles, loadPreset } from './model-loader';

let host: ModelHost;
beforeAll(async () => {
  host = await startModelHost(0);
});
afterAll(async () => {
  await host.close();
});

const DEC = 'schmuell/sam-b-fp16/resolve/main/sam_vit_b-decoder-int8.onnx';
const url = (p: string) => `${host.url}/${p}`;
const fault = (kind: string, p = DEC) => `${host.url}/__fault/${kind}/${p}`;
const code = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as AppError).code;

describe('model download', () => {
  it('streams with progress, verifies, caches, and serves the second request from the cache', async () => {
    const cache = new MemoryModelCache();
    const events: DownloadProgress[] = [];
    const first = await fetchModelFile(url(DEC), { kind: 'model', cache, onProgress: (p) => events.push(p) });
    expect(first.fromCache).toBe(false);
    expect(first.sha256).toBe(await sha256Hex(fixturePair('sam1-meta').decoder));
    expect(events.some((e) => e.phase === 'download' && e.total === first.bytes.length)).toBe(true);
    expect(events.at(-1)?.phase).toBe('done');
    const before = host.requests.length;
    const second = await fetchModelFile(url(DEC), { kind: 'model', cache });
    expect(second.fromCache).toBe(true);
    expect(second.sha256).toBe(first.sha256);
    expect(host.requests.length).toBe(before);
  });

  it('calls an HTML page a missing model and caches nothing', async () => {
    const cache = new MemoryModelCache();
    const err = await fetchModelFile(fault('html'), { kind: 'model', cache }).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('model-missing');
    expect((err as AppError).message).toMatch(/missing or damaged/);
    expect(cache.map.size).toBe(0);
  });

  it('maps 404 to "missing" and 500 to a retryable network error', async () => {
    expect(await code(fetchModelFile(fault('404'), { kind: 'model' }))).toBe('model-missing');
    const e500 = (await fetchModelFile(fault('500'), { kind: 'model' }).catch((e: unknown) => e)) as AppError;
    expect(e500.code).toBe('network');
    expect(e500.message).toMatch(/Retry/);
  });

  it('rejects a truncated download and caches nothing', async () => {
    const cache = new MemoryModelCache();
    const e = (await fetchModelFile(fault('truncate'), { kind: 'model', cache, maxResumes: 0 }).catch(
      (x: unknown) => x,
    )) as AppError;
    expect(['model-integrity', 'network']).toContain(e.code);
    expect(cache.map.size).toBe(0);
  });

  it('gives up on a stalled server with a clear error', async () => {
    const e = (await fetchModelFile(fault('stall'), { kind: 'model', stallMs: 300 }).catch(
      (x: unknown) => x,
    )) as AppError;
    expect(e.code).toBe('network');
    expect(e.message).toMatch(/stalled/);
  });

  it('resumes a dropped download with a Range request and gets identical bytes', async () => {
    const cache = new MemoryModelCache();
    const path =
      'onnx-community/sam2.1-hiera-tiny-ONNX/resolve/main/onnx/prompt_encoder_mask_decoder_quantized.onnx';
    const f = await fetchModelFile(fault('drop-once', path), { kind: 'model', cache });
    const served = presetFixture(presetById('sam2.1-tiny-q8')!).files.get(
      'onnx/prompt_encoder_mask_decoder_quantized.onnx',
    );
    expect(f.sha256).toBe(await sha256Hex(served!));
    expect(host.requests.some((r) => r.includes('drop-once') && r.includes('bytes='))).toBe(true);
    expect(cache.map.get(fault('drop-once', path))?.meta.sha256).toBe(f.sha256);
  });

  it('restarts from zero when the server ignores Range', async () => {
    const path = 'Xenova/slimsam-77-uniform/resolve/main/onnx/prompt_encoder_mask_decoder_quantized.onnx';
    const f = await fetchModelFile(fault('no-range', path), { kind: 'model' });
    const served = presetFixture(presetById('slimsam-77-q8')!).files.get(
      'onnx/prompt_encoder_mask_decoder_quantized.onnx',
    );
    expect(f.sha256).toBe(await sha256Hex(served!));
  });

  it('refuses a SHA-256 mismatch and caches nothing', async () => {
    const cache = new MemoryModelCache();
    const e = (await fetchModelFile(url(DEC), { kind: 'model', cache, expectedSha256: '0'.repeat(64) }).catch(
      (x: unknown) => x,
    )) as AppError;
    expect(e.code).toBe('model-integrity');
    expect(cache.map.size).toBe(0);
  });

  it('runs from memory with a notice when storage is full, leaving no partial entry', async () => {
    const cache = new MemoryModelCache();
    cache.failWith = Object.assign(new Error('quota'), { name: 'QuotaExceededError' });
    const f = await fetchModelFile(url(DEC), { kind: 'model', cache });
    expect(f.bytes.length).toBeGreaterThan(0);
    expect(f.notice).toMatch(/storage is full/);
    expect(cache.map.size).toBe(0);
  });

  it('can be cancelled', async () => {
    const ac = new AbortController();
    const p = fetchModelFile(fault('slow'), { kind: 'model', signal: ac.signal });
    setTimeout(() => ac.abort(), 60);
    expect(await code(p)).toBe('cancelled');
  });
});

describe('model loader', () => {
  it('loads a preset from the hub layout, flags the fixture, and records every file hash', async () => {
    const preset = presetById('sam-vit-b-int8')!;
    const m = await loadPreset(preset, {
      host: host.url,
      appBase: 'http://app/',
      cache: new MemoryModelCache(),
    });
    expect(m.provenance.contract).toBe('sam1-meta');
    expect(m.provenance.isFixture).toBe(true);
    expect(m.provenance.label).toMatch(/TEST FIXTURE/);
    expect(m.provenance.files).toHaveLength(2);
    for (const f of m.provenance.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('downloads the external weight file a graph references', async () => {
    const preset = presetById('sam2.1-tiny-fp32')!;
    const m = await loadPreset(preset, { host: host.url, appBase: 'http://app/' });
    expect(m.encoder.externalData?.map((e) => e.path)).toEqual(['vision_encoder.onnx_data']);
    expect(m.provenance.files.map((f) => f.name)).toContain('onnx/vision_encoder.onnx_data');
  });

  it('recognises dropped local files by their graphs, not their names', async () => {
    const { encoder, decoder } = fixturePair('sam2-samexporter');
    const m = await loadLocalFiles([
      { name: 'b.onnx', bytes: decoder },
      { name: 'whatever.onnx', bytes: encoder },
    ]);
    expect(m.provenance.contract).toBe('sam2-samexporter');
    expect(m.provenance.isFixture).toBe(true);
    expect(m.provenance.label).toMatch(/Test fixture/);
  });

  it('pairs a dropped graph with its external data, and says which file is missing', async () => {
    const ext = hfSam2EncoderExternal('vision_encoder.onnx_data');
    const dec = fixturePair('hf-sam2').decoder;
    const ok = await loadLocalFiles([
      { name: 'vision_encoder.onnx', bytes: ext.encoder },
      { name: 'vision_encoder.onnx_data', bytes: ext.data },
      { name: 'decoder.onnx', bytes: dec },
    ]);
    expect(ok.encoder.externalData?.[0]?.path).toBe('vision_encoder.onnx_data');
    const err = await loadLocalFiles([
      { name: 'vision_encoder.onnx', bytes: ext.encoder },
      { name: 'decoder.onnx', bytes: dec },
    ]).catch((e: unknown) => e);
    expect((err as AppError).message).toMatch(/vision_encoder\.onnx_data/);
  });

  it('lists what it found when the drop is not an encoder/decoder pair', async () => {
    const err = (await loadLocalFiles([
      { name: 'a.onnx', bytes: fixturePair('sam1-meta').encoder },
      { name: 'notes.onnx', bytes: new TextEncoder().encode('<html>nope</html>'.repeat(4)) },
    ]).catch((e: unknown) => e)) as AppError;
    expect(err.code).toBe('model-contract');
    expect(err.message).toMatch(/a\.onnx → sam1-meta encoder/);
    expect(err.message).toMatch(/notes\.onnx/);
  });
});
