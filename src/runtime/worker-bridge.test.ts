/**
 * The worker's host and its typed client, connected in-process through structured clone with
 * transfer lists (as postMessage does), on contract fixtures.
 */
import * as ort from 'onnxruntime-web';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixturePair } from '../../tools/fixtures/sam-fixtures';
import { AppError } from '../core/errors';
import { dice } from '../core/metrics';
import { centreClick, promptPoint, rngFor } from '../core/prompts';
import { twoShapeScene } from '../core/testing/synthetic';
import { InferenceClient, type PortLike } from './client';
import { ByteLru } from './embedding-cache';
import { InferenceHost } from './host';
import type { RequestEnvelope } from './protocol';

ort.env.wasm.numThreads = 1;

interface Bridge {
  port: PortLike;
  host: () => InferenceHost | null;
  terminated: () => boolean;
}

/** One in-process "worker": a host behind a port that clones (and transfers) like postMessage. */
function bridge(rewrite: (env: RequestEnvelope) => RequestEnvelope = (e) => e): Bridge {
  let host: InferenceHost | null = null;
  let terminated = false;
  const port: PortLike = {
    onmessage: null,
    postMessage(msg: unknown, transfer: Transferable[]) {
      const copy = rewrite(structuredClone(msg, { transfer }) as RequestEnvelope);
      queueMicrotask(() => host?.handle(copy));
    },
    terminate() {
      host = null;
      terminated = true;
    },
  };
  host = new InferenceHost((msg, transfer) => {
    const copy = structuredClone(msg, { transfer });
    queueMicrotask(() => port.onmessage?.({ data: copy }));
  });
  return { port, host: () => host, terminated: () => terminated };
}

function connect(): { client: InferenceClient; host: InferenceHost } {
  const b = bridge();
  const client = new InferenceClient(b.port);
  return { client, host: b.host() as InferenceHost };
}

/** A client whose slots get decoder workers (in-process hosts), as the app's client does in a browser. */
function connectWithDecoders(opts: { decoderBudget?: number; failLoad?: boolean } = {}): {
  client: InferenceClient;
  decoders: Bridge[];
} {
  const decoders: Bridge[] = [];
  const decoderWorker = (): PortLike => {
    const b = bridge((env) => {
      if (env.req.kind === 'init' && opts.decoderBudget !== undefined)
        return { ...env, req: { ...env.req, cacheBudgetBytes: opts.decoderBudget } };
      if (env.req.kind === 'load-decoder' && opts.failLoad)
        return { ...env, req: { ...env.req, decoder: { bytes: new Uint8Array([1, 2, 3]) } } };
      return env;
    });
    decoders.push(b);
    return b.port;
  };
  return { client: new InferenceClient(bridge().port, { decoderWorker }), decoders };
}

const scene = twoShapeScene(400, 300);
const key = { seed: 3, caseId: 'bridge', slice: 0, label: 1 };
const centre = centreClick(scene.masks.disk, rngFor(key, 'centre'));

async function loadBoth(client: InferenceClient, heavy = false) {
  await client.request({ kind: 'init', threads: 1 });
  const a = fixturePair('sam1-meta', heavy ? { heavyLayers: 2 } : {});
  const b = fixturePair('hf-sam2');
  const ra = await client.request({
    kind: 'load',
    slot: 'sam',
    modelId: 'fx-sam',
    encoder: { bytes: a.encoder },
    decoder: { bytes: a.decoder },
    provider: 'wasm',
  });
  const rb = await client.request({
    kind: 'load',
    slot: 'sam2',
    modelId: 'fx-sam2',
    encoder: { bytes: b.encoder },
    decoder: { bytes: b.decoder },
    provider: 'wasm',
  });
  return { ra, rb };
}

const rgb = () => ({ ...scene.image, data: scene.image.data.slice() });

describe('inference worker bridge', () => {
  let client: InferenceClient;
  beforeEach(() => {
    client = connect().client;
  });
  afterEach(() => {
    client.terminate();
  });

  it('loads both models, encodes once per model and decodes with timings', async () => {
    const { ra, rb } = await loadBoth(client);
    expect(ra.contract).toBe('sam1-meta');
    expect(rb.contract).toBe('hf-sam2');
    expect(ra.provider).toBe('wasm');
    expect(ra.createMs).toBeGreaterThan(0);
    const e1 = await client.request({ kind: 'encode', slot: 'sam', key: 'img#0', image: rgb() });
    expect(e1.cached).toBe(false);
    expect(e1.encodeMs).toBeGreaterThan(0);
    expect(e1.embeddingBytes).toBe(4 * 1024 * 1024);
    const e2 = await client.request({ kind: 'encode', slot: 'sam2', key: 'img#0', image: rgb() });
    expect(e2.embeddingBytes).toBe((32 * 256 * 256 + 64 * 128 * 128 + 256 * 64 * 64) * 4);
    expect((await client.request({ kind: 'encode', slot: 'sam', key: 'img#0', image: rgb() })).cached).toBe(
      true,
    );
    for (const slot of ['sam', 'sam2']) {
      const d = await client.request({
        kind: 'decode',
        slot,
        key: 'img#0',
        prompts: [{ points: [promptPoint(centre.x, centre.y, 1)] }],
      });
      expect(d.decodeMs).toBeGreaterThan(0);
      const m = d.sets[0]!.candidates[1]!;
      expect(dice({ ...scene.masks.disk, data: m.mask }, scene.masks.disk)).toBeGreaterThan(0.9);
    }
  });

  it('coalesces 20 rapid prompt changes: only the last one comes back', async () => {
    await loadBoth(client);
    await client.request({ kind: 'encode', slot: 'sam2', key: 'k', image: rgb() });
    const xs = Array.from({ length: 20 }, (_, i) => 20 + i * 15);
    const results = await Promise.all(
      xs.map((x) =>
        client.decodeLatest('sam2', {
          kind: 'decode',
          slot: 'sam2',
          key: 'k',
          prompts: [{ points: [promptPoint(x, 150, 1)] }],
        }),
      ),
    );
    const shown = results.filter((r) => r !== null);
    expect(shown).toHaveLength(1);
    expect(results.at(-1)).not.toBeNull();
    // It is the last prompt's mask: identical to decoding that prompt alone.
    const alone = await client.request({
      kind: 'decode',
      slot: 'sam2',
      key: 'k',
      prompts: [{ points: [promptPoint(xs.at(-1)!, 150, 1)] }],
    });
    expect([...shown[0]!.sets[0]!.candidates[0]!.mask]).toEqual([...alone.sets[0]!.candidates[0]!.mask]);
  });

  it('discards a queued encode when a newer slice arrives for the same model', async () => {
    await loadBoth(client, true);
    const a = client.request({ kind: 'encode', slot: 'sam', key: 'slice-1', image: rgb() });
    // Let slice 1 start encoding; slices 2 and 3 then arrive while it runs.
    await new Promise((r) => setTimeout(r, 30));
    const b = client.request({ kind: 'encode', slot: 'sam', key: 'slice-2', image: rgb() });
    const c = client.request({ kind: 'encode', slot: 'sam', key: 'slice-3', image: rgb() });
    const [ra, rb, rc] = await Promise.allSettled([a, b, c]);
    expect(ra.status).toBe('fulfilled');
    expect(rb.status).toBe('rejected');
    expect(((rb as PromiseRejectedResult).reason as AppError).code).toBe('stale');
    expect(rc.status).toBe('fulfilled');
    const err = await client
      .request({ kind: 'decode', slot: 'sam', key: 'slice-2', prompts: [{ points: [promptPoint(5, 5, 1)] }] })
      .catch((e: unknown) => e);
    expect((err as AppError).code).toBe('invalid-argument');
  });

  it('evicts embeddings beyond the byte budget and keeps the newest', async () => {
    await client.request({ kind: 'init', threads: 1, cacheBudgetBytes: 9 * 1024 * 1024 });
    const a = fixturePair('sam1-meta');
    await client.request({
      kind: 'load',
      slot: 'sam',
      modelId: 'fx',
      encoder: { bytes: a.encoder },
      decoder: { bytes: a.decoder },
      provider: 'wasm',
    });
    for (let s = 0; s < 4; s++)
      await client.request({ kind: 'encode', slot: 'sam', key: `s${s}`, image: rgb() });
    const stats = await client.request({ kind: 'cache-stats' });
    expect(stats.bytes).toBeLessThanOrEqual(9 * 1024 * 1024);
    expect(stats.entries).toBe(2);
    expect(stats.evictions).toBe(2);
    expect((await client.request({ kind: 'encode', slot: 'sam', key: 's3', image: rgb() })).cached).toBe(
      true,
    );
    expect((await client.request({ kind: 'encode', slot: 'sam', key: 's0', image: rgb() })).cached).toBe(
      false,
    );
  });

  it('settles on the last of two overlapping loads into one slot', async () => {
    await client.request({ kind: 'init', threads: 1 });
    const a = fixturePair('hf-sam');
    const b = fixturePair('sam1-meta');
    const load = (modelId: string, p: { encoder: Uint8Array; decoder: Uint8Array }) =>
      client.request({
        kind: 'load',
        slot: 'sam',
        modelId,
        encoder: { bytes: p.encoder },
        decoder: { bytes: p.decoder },
        provider: 'wasm',
      });
    // The second load is sent before the first has finished.
    const [ra, rb] = await Promise.all([load('A', a), load('B', b)]);
    expect(ra.contract).toBe('hf-sam');
    expect(rb.contract).toBe('sam1-meta');
    await client.request({ kind: 'encode', slot: 'sam', key: 'k', image: rgb() });
    const r = await client.request({
      kind: 'decode',
      slot: 'sam',
      key: 'k',
      prompts: [{ points: [promptPoint(centre.x, centre.y, 1)] }],
    });
    // Only Meta's export (B) has the single-mask token: the slot holds B.
    expect(r.sets[0]?.single).toBeDefined();
    expect((await client.request({ kind: 'cache-stats' })).entries).toBe(1);
  });

  it('unloading a model frees its embeddings and keeps the other model’s', async () => {
    await loadBoth(client);
    await client.request({ kind: 'encode', slot: 'sam', key: 'k', image: rgb() });
    await client.request({ kind: 'encode', slot: 'sam2', key: 'k', image: rgb() });
    const before = await client.request({ kind: 'cache-stats' });
    expect(before.entries).toBe(2);
    await client.request({ kind: 'unload', slot: 'sam' });
    const after = await client.request({ kind: 'cache-stats' });
    expect(after.entries).toBe(1);
    expect(after.bytes).toBeLessThan(before.bytes);
    expect((await client.request({ kind: 'encode', slot: 'sam2', key: 'k', image: rgb() })).cached).toBe(
      true,
    );
  });

  it('refuses work for an unloaded slot with a typed error', async () => {
    await loadBoth(client);
    await client.request({ kind: 'unload', slot: 'sam' });
    const err = await client
      .request({ kind: 'encode', slot: 'sam', key: 'x', image: rgb() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toMatch(/No model is loaded/);
  });

  it('rejects every pending call when terminated', async () => {
    await loadBoth(client, true);
    const p1 = client.request({ kind: 'encode', slot: 'sam', key: 'slow', image: rgb() });
    const p2 = client.decodeLatest('sam', {
      kind: 'decode',
      slot: 'sam',
      key: 'slow',
      prompts: [{ points: [promptPoint(1, 1, 1)] }],
    });
    client.terminate();
    await expect(p1).rejects.toMatchObject({ code: 'worker-terminated' });
    await expect(p2).rejects.toMatchObject({ code: 'worker-terminated' });
    await expect(client.request({ kind: 'cache-stats' })).rejects.toMatchObject({
      code: 'worker-terminated',
    });
  });
});

describe('decoder workers (one-thread runtime per slot)', () => {
  const click = [{ points: [promptPoint(centre.x, centre.y, 1)] }];

  it('decode in the slot’s decoder worker with the same masks as the inference worker', async () => {
    const plain = connect().client;
    const { client: split, decoders } = connectWithDecoders();
    try {
      await loadBoth(plain);
      await loadBoth(split);
      expect(decoders).toHaveLength(2);
      expect(split.decoderThreads('sam')).toBe(1);
      for (const slot of ['sam', 'sam2']) {
        await plain.request({ kind: 'encode', slot, key: 'img#0', image: rgb() });
        await split.request({ kind: 'encode', slot, key: 'img#0', image: rgb() });
        const a = await plain.request({ kind: 'decode', slot, key: 'img#0', prompts: click });
        const b = await split.request({ kind: 'decode', slot, key: 'img#0', prompts: click });
        expect(a.worker).toBe('inference');
        expect(b.worker).toBe('decoder');
        expect(b.threads).toBe(1);
        // Same graph, same embedding bytes (copied across), same prompts: bit-identical masks.
        const ma = a.sets[0]!.candidates.map((c) => Array.from(c.mask));
        const mb = b.sets[0]!.candidates.map((c) => Array.from(c.mask));
        expect(mb).toEqual(ma);
        expect(b.sets[0]!.candidates.map((c) => c.predictedIou)).toEqual(
          a.sets[0]!.candidates.map((c) => c.predictedIou),
        );
      }
    } finally {
      plain.terminate();
      split.terminate();
    }
  });

  it('falls back to the inference worker when the decoder worker evicted the slice', async () => {
    // A 1-byte budget keeps only the newest embedding in the decoder worker.
    const { client, decoders } = connectWithDecoders({ decoderBudget: 1 });
    try {
      await loadBoth(client);
      await client.request({ kind: 'encode', slot: 'sam2', key: 'first', image: rgb() });
      await client.request({ kind: 'encode', slot: 'sam2', key: 'second', image: rgb() });
      const newest = await client.request({ kind: 'decode', slot: 'sam2', key: 'second', prompts: click });
      expect(newest.worker).toBe('decoder');
      const evicted = await client.request({ kind: 'decode', slot: 'sam2', key: 'first', prompts: click });
      expect(evicted.worker).toBe('inference');
      const m = evicted.sets[0]!.candidates[1]!;
      expect(dice({ ...scene.masks.disk, data: m.mask }, scene.masks.disk)).toBeGreaterThan(0.9);
      // Encoding the slice again (a cache hit in the inference worker) sends it back to the decoder.
      await client.request({ kind: 'encode', slot: 'sam2', key: 'first', image: rgb() });
      const again = await client.request({ kind: 'decode', slot: 'sam2', key: 'first', prompts: click });
      expect(again.worker).toBe('decoder');
      expect(decoders.every((d) => !d.terminated())).toBe(true);
    } finally {
      client.terminate();
    }
  });

  it('decodes in the inference worker, with a warning, when a decoder worker cannot load', async () => {
    const { client, decoders } = connectWithDecoders({ failLoad: true });
    const warnings: string[] = [];
    client.onEvent((ev) => {
      if (ev.event === 'log' && ev.level === 'warn') warnings.push(ev.message);
    });
    try {
      await loadBoth(client);
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatch(/decoder worker did not start/);
      expect(decoders.every((d) => d.terminated())).toBe(true);
      expect(client.decoderThreads('sam')).toBeNull();
      await client.request({ kind: 'encode', slot: 'sam', key: 'img#0', image: rgb() });
      const d = await client.request({ kind: 'decode', slot: 'sam', key: 'img#0', prompts: click });
      expect(d.worker).toBe('inference');
    } finally {
      client.terminate();
    }
  });

  it('stops a slot’s decoder worker on unload, on reload into the slot and on terminate', async () => {
    const { client, decoders } = connectWithDecoders();
    await loadBoth(client);
    const [sam, sam2] = decoders;
    await client.request({ kind: 'unload', slot: 'sam' });
    expect(sam!.terminated()).toBe(true);
    expect(sam2!.terminated()).toBe(false);
    const b = fixturePair('hf-sam2');
    await client.request({
      kind: 'load',
      slot: 'sam2',
      modelId: 'fx-sam2-again',
      encoder: { bytes: b.encoder },
      decoder: { bytes: b.decoder },
      provider: 'wasm',
    });
    expect(sam2!.terminated()).toBe(true);
    expect(decoders).toHaveLength(3);
    await client.request({ kind: 'encode', slot: 'sam2', key: 'k', image: rgb() });
    expect((await client.request({ kind: 'decode', slot: 'sam2', key: 'k', prompts: click })).worker).toBe(
      'decoder',
    );
    client.terminate();
    expect(decoders[2]!.terminated()).toBe(true);
  });
});

describe('byte-budgeted LRU', () => {
  it('evicts least recently used first and disposes what it evicts', () => {
    const disposed: string[] = [];
    const lru = new ByteLru<string>(10, (v) => disposed.push(v));
    lru.set('a', 'A', 4);
    lru.set('b', 'B', 4);
    lru.get('a'); // a is now most recent
    lru.set('c', 'C', 4);
    expect(disposed).toEqual(['B']);
    expect(lru.has('a')).toBe(true);
    expect(lru.bytes).toBe(8);
    lru.deletePrefix('a');
    expect(disposed).toEqual(['B', 'A']);
  });
});
