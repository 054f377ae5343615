/**
 * In-browser half of `npm run bench` (bench.html): measures the app's own inference path (the worker
 * and its client) for encoders, decoders, session creation, memory and main-thread long tasks. Driven by
 * bench/run.ts through Playwright; it only ever loads benchmark and fixture models.
 */
import { maskAndArea, resizeBilinear } from '../core/models/resample';
import { twoShapeScene } from '../core/testing/synthetic';
import { centreClick, promptPoint, rngFor } from '../core/prompts';
import { startInferenceWorker } from '../runtime/create-worker';
import { CacheStorageModelCache, fetchModelFile } from '../runtime/model-fetch';
import type { InferenceClient } from '../runtime/client';
import type { Provider } from '../runtime/protocol';

let client: InferenceClient | null = null;
const longTasks: number[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) longTasks.push(e.duration);
}).observe({ type: 'longtask', buffered: true });

async function bytesOf(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function fresh(threads: number, decoderWorkers = true): Promise<InferenceClient> {
  client?.terminate();
  client = startInferenceWorker({ decoderWorkers });
  await client.request({ kind: 'init', threads });
  return client;
}

const scene = twoShapeScene(512, 512, 'bench');
const image = () => ({ ...scene.image, data: scene.image.data.slice() });

export const bench = {
  /** Encoder run times (worker-measured, ORT run only) for `repeats` fresh encodes, plus session creation. */
  async encoder(
    encoderUrl: string,
    decoderUrl: string,
    threads: number,
    provider: Provider,
    repeats: number,
  ) {
    const c = await fresh(threads);
    const enc = await bytesOf(encoderUrl);
    const dec = await bytesOf(decoderUrl);
    const t0 = performance.now();
    const load = await c.request({
      kind: 'load',
      slot: 'a',
      modelId: `bench-${encoderUrl}`,
      encoder: { bytes: enc },
      decoder: { bytes: dec },
      provider,
    });
    const loadWallMs = performance.now() - t0;
    // One warm-up encode, not counted (as in the Node runs): the first allocates and compiles kernels.
    await c.request({ kind: 'encode', slot: 'a', key: `warm-${Math.random()}`, image: image() });
    longTasks.length = 0;
    const runs: number[] = [];
    const walls: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const w = performance.now();
      const r = await c.request({ kind: 'encode', slot: 'a', key: `r${i}-${Math.random()}`, image: image() });
      walls.push(performance.now() - w);
      runs.push(r.encodeMs);
    }
    const stats = await c.request({ kind: 'cache-stats' });
    let memory: unknown = null;
    const m = (performance as unknown as { measureUserAgentSpecificMemory?: () => Promise<unknown> })
      .measureUserAgentSpecificMemory;
    if (m && crossOriginIsolated) memory = await m.call(performance).catch(() => null);
    return {
      createMs: load.createMs,
      loadWallMs,
      provider: load.provider,
      threads: load.threads,
      encodeMs: runs,
      wallMs: walls,
      longTasks: [...longTasks],
      cacheBytes: stats.bytes,
      memory,
    };
  },

  /**
   * Decoder latency per click: `clicks` single-click decodes on one embedding, sequentially, after
   * warm-up decodes for at least 3 calls and `warmupMs`. A fresh worker's first seconds are not the
   * steady state: V8 runs onnxruntime's wasm on baseline code while it optimises it in the background
   * (decodes up to 3× slower for about 10 s here); those warm-up decodes are returned apart.
   */
  async decoder(
    encoderUrl: string,
    decoderUrl: string,
    threads: number,
    clicks: number,
    provider: Provider = 'wasm',
    decoderWorkers = true,
    warmupMs = 0,
  ) {
    const c = await fresh(threads, decoderWorkers);
    await c.request({
      kind: 'load',
      slot: 'a',
      modelId: `dec-${decoderUrl}`,
      encoder: { bytes: await bytesOf(encoderUrl) },
      decoder: { bytes: await bytesOf(decoderUrl) },
      provider,
    });
    await c.request({ kind: 'encode', slot: 'a', key: 'k', image: image() });
    const c0 = centreClick(scene.masks.disk, rngFor({ seed: 1, caseId: 'b', slice: 0, label: 1 }, 'centre'));
    const decodeMs: number[] = [];
    const roundTripMs: number[] = [];
    const postprocessMs: number[] = [];
    const warmDecodeMs: number[] = [];
    const workers = new Set<string>();
    const start = performance.now();
    let warm = 0;
    for (let i = 0; decodeMs.length < clicks; i++) {
      const w = performance.now();
      const r = await c.request({
        kind: 'decode',
        slot: 'a',
        key: 'k',
        prompts: [{ points: [promptPoint(c0.x + (i % 7) - 3, c0.y + (i % 5) - 2, 1)] }],
      });
      workers.add(`${r.worker} ${r.threads}t`);
      if (i < 3 || w - start < warmupMs) {
        warm++;
        warmDecodeMs.push(r.decodeMs);
      } else {
        decodeMs.push(r.decodeMs);
        postprocessMs.push(r.postprocessMs);
        roundTripMs.push(performance.now() - w);
      }
    }
    return {
      decodeMs,
      roundTripMs,
      postprocessMs,
      warmDecodeMs,
      warmupCalls: warm,
      worker: [...workers].join(', '),
    };
  },

  /** Session creation cold (download + create) and warm (Cache Storage + create). */
  async sessionCreate(encoderUrl: string, decoderUrl: string, threads: number, warm: boolean) {
    const cache = new CacheStorageModelCache('sam-compare-bench');
    if (!warm) {
      for (const u of [encoderUrl, decoderUrl]) await cache.delete(u);
    }
    const c = await fresh(threads);
    const t0 = performance.now();
    const enc = await fetchModelFile(encoderUrl, { kind: 'model', cache });
    const dec = await fetchModelFile(decoderUrl, { kind: 'model', cache });
    const fetchMs = performance.now() - t0;
    const load = await c.request({
      kind: 'load',
      slot: 'a',
      modelId: `s-${encoderUrl}`,
      encoder: { bytes: enc.bytes },
      decoder: { bytes: dec.bytes },
      provider: 'wasm',
    });
    return {
      fromCache: enc.fromCache && dec.fromCache,
      fetchMs,
      createMs: load.createMs,
      totalMs: performance.now() - t0,
    };
  },

  /** The decoders' JS post-processing alone on this thread: 256² logits → masks at 512² (ms per call). */
  resample(calls: number) {
    const low = Float32Array.from({ length: 256 * 256 }, (_, i) => Math.sin(i / 97) * 5);
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      for (let c = 0; c < 3; c++) maskAndArea(resizeBilinear(low, 256, 256, 512, 512));
      times.push(performance.now() - t);
    }
    return times;
  },

  async adapter() {
    const gpu = (
      navigator as unknown as {
        gpu?: {
          requestAdapter: () => Promise<{
            info?: { vendor?: string; architecture?: string; description?: string };
            isFallbackAdapter?: boolean;
          } | null>;
        };
      }
    ).gpu;
    const a = gpu ? await gpu.requestAdapter() : null;
    return a
      ? {
          name: [a.info?.vendor, a.info?.architecture, a.info?.description].filter(Boolean).join(' '),
          fallback: a.isFallbackAdapter === true,
        }
      : null;
  },
};

(window as unknown as { bench: typeof bench }).bench = bench;
document.body.dataset['ready'] = 'true';
