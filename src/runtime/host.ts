/**
 * The inference worker's logic, independent of the Worker global so it also runs (and is tested) in Node.
 * One host owns every session. Per model slot, encodes run one at a time; a queued encode is superseded
 * (answered `stale`) when a newer one arrives for the same slot, so switching slices mid-encode discards
 * the stale work. Embeddings live in a byte-budgeted LRU keyed by model and slice key.
 */
import * as ort from 'onnxruntime-web';
import { AppError, toAppError } from '../core/errors';
import type { DecodedSet } from '../core/models/adapters';
import { ByteLru } from './embedding-cache';
import { disposeEmbedding, SamPipeline, type Embedding } from './pipeline';
import type {
  CandidateOut,
  DecodeRequest,
  DecodeResult,
  DecodedSetOut,
  EncodeRequest,
  EncodeResult,
  InitRequest,
  InitResult,
  LoadRequest,
  LoadResult,
  Provider,
  RequestEnvelope,
  WorkerEvent,
  WorkerMessage,
} from './protocol';

export const DEFAULT_CACHE_BUDGET = 512 * 1024 * 1024;

interface Slot {
  readonly pipeline: SamPipeline;
  readonly modelId: string;
  readonly provider: Provider;
  encodeChain: Promise<unknown>;
  queued: { id: number } | null;
}

type Post = (msg: WorkerMessage, transfer: Transferable[]) => void;

export class InferenceHost {
  private readonly slots = new Map<string, Slot>();
  private readonly inflight = new Map<string, Promise<Embedding>>();
  private readonly pinned = new Map<string, number>();
  private readonly deferredDispose = new Map<string, Embedding>();
  private readonly cache: ByteLru<Embedding>;
  private threads = 1;
  private gpuLost: string | null = null;
  private watchingDevice = false;

  constructor(private readonly post: Post) {
    this.cache = new ByteLru<Embedding>(DEFAULT_CACHE_BUDGET, (e, key) => {
      if (this.pinned.get(key)) this.deferredDispose.set(key, e);
      else disposeEmbedding(e);
    });
  }

  handle(env: RequestEnvelope): void {
    void this.dispatch(env).then(
      ({ result, transfer }) => {
        this.post({ id: env.id, ok: true, result }, transfer);
      },
      (e: unknown) => {
        this.post({ id: env.id, ok: false, error: toAppError(e, 'internal').toJSON() }, []);
      },
    );
  }

  private emit(ev: WorkerEvent): void {
    this.post({ ev }, []);
  }

  private async dispatch(env: RequestEnvelope): Promise<{ result: unknown; transfer: Transferable[] }> {
    const { req } = env;
    switch (req.kind) {
      case 'init':
        return { result: this.init(req), transfer: [] };
      case 'load':
        return { result: await this.load(req), transfer: [] };
      case 'unload':
        await this.unload(req.slot);
        return { result: null, transfer: [] };
      case 'encode':
        return { result: await this.encode(env.id, req), transfer: [] };
      case 'decode':
        return this.decode(req);
      case 'cache-stats':
        return {
          result: {
            entries: this.cache.size,
            bytes: this.cache.bytes,
            budgetBytes: this.cache.budgetBytes,
            evictions: this.cache.evictions,
            hits: this.cache.hits,
            misses: this.cache.misses,
          },
          transfer: [],
        };
      case 'clear-cache':
        this.cache.clear();
        return { result: null, transfer: [] };
      case 'debug-lose-gpu': {
        const device = await ort.env.webgpu.device;
        device.destroy();
        return { result: null, transfer: [] };
      }
    }
  }

  private init(req: InitRequest): InitResult {
    this.threads = Math.max(1, Math.floor(req.threads));
    ort.env.wasm.numThreads = this.threads;
    if (req.wasmPaths) ort.env.wasm.wasmPaths = { mjs: req.wasmPaths.mjs, wasm: req.wasmPaths.wasm };
    if (req.cacheBudgetBytes !== undefined) this.cache.setBudget(req.cacheBudgetBytes);
    return {
      threads: this.threads,
      crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    };
  }

  private async load(req: LoadRequest): Promise<LoadResult> {
    if (req.provider === 'webgpu' && this.gpuLost) {
      throw new AppError(
        'gpu-lost',
        `The GPU device was lost (${this.gpuLost}). Reload the models to retry on WebGPU, or switch to WebAssembly.`,
      );
    }
    await this.unload(req.slot);
    let pipeline: SamPipeline;
    try {
      pipeline = await SamPipeline.create(
        {
          bytes: req.encoder.bytes,
          ...(req.encoder.externalData ? { externalData: req.encoder.externalData } : {}),
        },
        {
          bytes: req.decoder.bytes,
          ...(req.decoder.externalData ? { externalData: req.decoder.externalData } : {}),
        },
        { provider: req.provider, embeddingsOnGpu: req.embeddingsOnGpu === true },
      );
    } catch (e) {
      const err = toAppError(e, 'model-integrity');
      if (err.code === 'out-of-memory' || /memory|allocat/i.test(err.detail ?? err.message)) {
        throw new AppError(
          'out-of-memory',
          'Not enough memory to load this model in the browser. Try a smaller variant (int8/q8, SlimSAM or SAM 2.1 tiny).',
          {
            cause: e,
            detail: err.detail ?? err.message,
          },
        );
      }
      throw err;
    }
    this.slots.set(req.slot, {
      pipeline,
      modelId: req.modelId,
      provider: req.provider,
      encodeChain: Promise.resolve(),
      queued: null,
    });
    if (req.provider === 'webgpu') void this.watchDevice();
    return {
      slot: req.slot,
      modelId: req.modelId,
      contract: pipeline.contract,
      provider: req.provider,
      threads: this.threads,
      createMs: pipeline.createMs,
      encoderInputs: pipeline.encoderInputs.map((s) => `${s.name}: ${s.type}[${s.shape.join(',')}]`),
      decoderInputs: pipeline.decoderInputs.map((s) => `${s.name}: ${s.type}[${s.shape.join(',')}]`),
    };
  }

  private async watchDevice(): Promise<void> {
    if (this.watchingDevice) return;
    this.watchingDevice = true;
    try {
      const device = await ort.env.webgpu.device;
      void device.lost.then((info) => {
        this.gpuLost = info.message || info.reason;
        // Embeddings on the lost device are gone; never serve them.
        for (const s of this.slots.values())
          if (s.provider === 'webgpu') this.cache.deletePrefix(`${s.modelId}|`);
        this.emit({ event: 'gpu-lost', message: this.gpuLost, reason: info.reason });
      });
    } catch {
      this.watchingDevice = false;
    }
  }

  private slot(name: string): Slot {
    const s = this.slots.get(name);
    if (!s)
      throw new AppError('invalid-argument', `No model is loaded in slot '${name}'. Load a model first.`, {
        subject: name,
      });
    if (s.provider === 'webgpu' && this.gpuLost) {
      throw new AppError(
        'gpu-lost',
        `The GPU device was lost (${this.gpuLost}). Retry on WebGPU (reloads the models) or switch to WebAssembly.`,
        {
          subject: name,
        },
      );
    }
    return s;
  }

  private async unload(name: string): Promise<void> {
    const s = this.slots.get(name);
    if (!s) return;
    this.slots.delete(name);
    this.cache.deletePrefix(`${s.modelId}|`);
    await s.pipeline.release();
  }

  private async encode(id: number, req: EncodeRequest): Promise<EncodeResult> {
    const slot = this.slot(req.slot);
    const cacheKey = `${slot.modelId}|${req.key}`;
    if (this.cache.get(cacheKey)) {
      return {
        key: req.key,
        cached: true,
        encodeMs: 0,
        preprocessMs: 0,
        embeddingBytes: 0,
        provider: slot.provider,
      };
    }
    const running = this.inflight.get(cacheKey);
    if (running) {
      await running;
      return {
        key: req.key,
        cached: true,
        encodeMs: 0,
        preprocessMs: 0,
        embeddingBytes: 0,
        provider: slot.provider,
      };
    }
    // A newer slice supersedes any encode still waiting its turn on this slot: when that one's turn
    // comes it finds it is no longer the queued one and answers `stale` without running.
    const me = { id };
    slot.queued = me;
    let timing = { encodeMs: 0, preprocessMs: 0 };
    const work = slot.encodeChain.then(async () => {
      if (slot.queued !== me) throw new AppError('stale', 'Superseded by a newer slice before it started.');
      slot.queued = null;
      const r = await slot.pipeline.encode(req.image);
      timing = { encodeMs: r.encodeMs, preprocessMs: r.preprocessMs };
      return r.embedding;
    });
    slot.encodeChain = work.catch(() => undefined);
    this.inflight.set(cacheKey, work);
    try {
      const emb = await work;
      this.cache.set(cacheKey, emb, emb.bytes);
      return { key: req.key, cached: false, ...timing, embeddingBytes: emb.bytes, provider: slot.provider };
    } catch (e) {
      const err = toAppError(e, 'internal', 'Encoding failed');
      if (err.code === 'stale') throw err;
      throw this.gpuLost && slot.provider === 'webgpu'
        ? new AppError('gpu-lost', `The GPU device was lost (${this.gpuLost}).`, { cause: e })
        : err;
    } finally {
      this.inflight.delete(cacheKey);
    }
  }

  private async decode(req: DecodeRequest): Promise<{ result: DecodeResult; transfer: Transferable[] }> {
    const slot = this.slot(req.slot);
    const cacheKey = `${slot.modelId}|${req.key}`;
    let emb = this.cache.get(cacheKey);
    if (!emb) {
      const running = this.inflight.get(cacheKey);
      if (running) emb = await running;
    }
    if (!emb)
      throw new AppError(
        'invalid-argument',
        'This slice is not encoded for this model yet; encode it first.',
        { subject: req.key },
      );
    this.pinned.set(cacheKey, (this.pinned.get(cacheKey) ?? 0) + 1);
    try {
      const r = await slot.pipeline.decode(emb, req.prompts, req.maskInputs);
      const transfer: Transferable[] = [];
      const sets = r.sets.map((d) => toOut(d, req.keepLowRes === true, transfer));
      return {
        result: { key: req.key, sets, decodeMs: r.decodeMs, calls: r.calls, provider: slot.provider },
        transfer,
      };
    } catch (e) {
      if (this.gpuLost && slot.provider === 'webgpu')
        throw new AppError('gpu-lost', `The GPU device was lost (${this.gpuLost}).`, { cause: e });
      throw toAppError(e, 'internal', 'Decoding failed');
    } finally {
      const n = (this.pinned.get(cacheKey) ?? 1) - 1;
      if (n <= 0) {
        this.pinned.delete(cacheKey);
        const d = this.deferredDispose.get(cacheKey);
        if (d) {
          this.deferredDispose.delete(cacheKey);
          disposeEmbedding(d);
        }
      } else this.pinned.set(cacheKey, n);
    }
  }
}

function candOut(
  c: { mask: Uint8Array; predictedIou: number; area: number },
  transfer: Transferable[],
): CandidateOut {
  transfer.push(c.mask.buffer);
  return { mask: c.mask, predictedIou: c.predictedIou, area: c.area };
}

function toOut(d: DecodedSet, keepLowRes: boolean, transfer: Transferable[]): DecodedSetOut {
  const lowRes = keepLowRes ? d.lowRes : undefined;
  if (lowRes) for (const l of lowRes) transfer.push(l.buffer);
  return {
    width: d.width,
    height: d.height,
    candidates: d.candidates.map((c) => candOut(c, transfer)),
    ...(d.single ? { single: candOut(d.single, transfer) } : {}),
    ...(lowRes ? { lowRes } : {}),
    ...(d.objectScore === undefined ? {} : { objectScore: d.objectScore }),
    pointsInCall: d.pointsInCall,
  };
}
