/**
 * The inference worker's logic, independent of the Worker global so it also runs (and is tested) in Node.
 * One host owns every session. Per model slot, encodes run one at a time; a queued encode is superseded
 * (answered `stale`) when a newer one arrives for the same slot, so switching slices mid-encode discards
 * the stale work. Embeddings live in a byte-budgeted LRU keyed by model and slice key.
 *
 * The same host runs in decoder workers: there a slot holds only a decoder (`load-decoder`), on a
 * one-thread runtime of its own, and its embeddings arrive as copies on a MessagePort from the inference
 * worker, which pushes every CPU embedding of a connected slot (`connect-decoder`) before it answers the
 * encode. onnxruntime-web has one thread pool per WebAssembly instance, shared by every session in it; a
 * small decoder run on the encoder's pool spends most of its time waking and joining threads, and both
 * models' decodes wait in one queue behind each other and behind any encode.
 */
import * as ort from 'onnxruntime-web';
import { AppError, toAppError } from '../core/errors';
import type { DecodedSet, MaskCandidate } from '../core/models/adapters';
import { ByteLru } from './embedding-cache';
import { DecoderSession, disposeEmbedding, SamPipeline, type Embedding } from './pipeline';
import { copyTensorData, fromOrt, toOrt } from './tensors';
import type { TensorData } from '../core/tensor';
import type {
  DecodeRequest,
  DecodeResult,
  DecodedSetOut,
  EmbeddingMessage,
  EncodeRequest,
  EncodeResult,
  InitRequest,
  InitResult,
  LoadDecoderRequest,
  LoadDecoderResult,
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
  /** A decoder worker's port: every CPU embedding of this slot is copied to it. */
  decoderPort: MessagePort | null;
}

/** A slot of a decoder worker: the decoder alone, fed embeddings through `port`. */
interface DecoderSlot {
  readonly decoder: DecoderSession;
  readonly modelId: string;
  readonly port: MessagePort;
}

/** How long a decoder worker waits for an embedding still on its way before saying it has none. */
const EMBEDDING_WAIT_MS = 2000;

type Post = (msg: WorkerMessage, transfer: Transferable[]) => void;

export class InferenceHost {
  private readonly slots = new Map<string, Slot>();
  private readonly decoderSlots = new Map<string, DecoderSlot>();
  private readonly arrivals = new Map<string, (() => void)[]>();
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
      case 'load-decoder':
        return { result: await this.loadDecoder(req), transfer: [] };
      case 'connect-decoder': {
        const slot = this.slot(req.slot);
        slot.decoderPort?.close();
        slot.decoderPort = req.port;
        return { result: null, transfer: [] };
      }
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
      decoderPort: null,
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
    const d = this.decoderSlots.get(name);
    if (d) {
      this.decoderSlots.delete(name);
      d.port.close();
      this.cache.deletePrefix(`${d.modelId}|`);
      await d.decoder.release();
    }
    const s = this.slots.get(name);
    if (!s) return;
    this.slots.delete(name);
    s.decoderPort?.close();
    this.cache.deletePrefix(`${s.modelId}|`);
    await s.pipeline.release();
  }

  private async loadDecoder(req: LoadDecoderRequest): Promise<LoadDecoderResult> {
    await this.unload(req.slot);
    const t0 = performance.now();
    const decoder = await DecoderSession.create(
      {
        bytes: req.decoder.bytes,
        ...(req.decoder.externalData ? { externalData: req.decoder.externalData } : {}),
      },
      req.contract,
      { provider: 'wasm' },
    );
    const d: DecoderSlot = { decoder, modelId: req.modelId, port: req.embeddings };
    this.decoderSlots.set(req.slot, d);
    req.embeddings.onmessage = (ev: MessageEvent<EmbeddingMessage>) => {
      if (this.decoderSlots.get(req.slot) === d) this.receiveEmbedding(d, ev.data);
    };
    return { slot: req.slot, threads: this.threads, createMs: performance.now() - t0 };
  }

  private receiveEmbedding(d: DecoderSlot, m: EmbeddingMessage): void {
    const cacheKey = `${d.modelId}|${m.key}`;
    if (!this.cache.has(cacheKey)) {
      const tensors = Object.fromEntries(Object.entries(m.tensors).map(([k, t]) => [k, toOrt(t)]));
      const emb: Embedding = { contract: m.contract, frame: m.frame, tensors, bytes: m.bytes, onGpu: false };
      this.cache.set(cacheKey, emb, emb.bytes);
    }
    const waiting = this.arrivals.get(cacheKey);
    this.arrivals.delete(cacheKey);
    for (const w of waiting ?? []) w();
  }

  /** Resolves when the embedding arrives, or after `ms` (whichever comes first). */
  private awaitArrival(cacheKey: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      const list = this.arrivals.get(cacheKey) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.arrivals.set(cacheKey, list);
    });
  }

  /** Copies a CPU embedding to the slot's decoder worker (GPU-resident ones stay with their device). */
  private pushEmbedding(slot: Slot, key: string, emb: Embedding): void {
    if (!slot.decoderPort || emb.onGpu) return;
    const tensors: Record<string, TensorData> = {};
    const transfer: Transferable[] = [];
    for (const [name, t] of Object.entries(emb.tensors)) {
      const copy = copyTensorData(fromOrt(name, t));
      tensors[name] = copy;
      transfer.push(copy.data.buffer);
    }
    const msg: EmbeddingMessage = {
      key,
      contract: emb.contract,
      frame: emb.frame,
      bytes: emb.bytes,
      tensors,
    };
    slot.decoderPort.postMessage(msg, transfer);
  }

  private async encode(id: number, req: EncodeRequest): Promise<EncodeResult> {
    const slot = this.slot(req.slot);
    const cacheKey = `${slot.modelId}|${req.key}`;
    const hit = this.cache.get(cacheKey);
    if (hit) {
      // The decoder worker may have evicted it: send it again (a copy of a few MiB).
      this.pushEmbedding(slot, req.key, hit);
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
      // Before the answer: the decoder worker has the embedding in its queue when the client decodes.
      this.pushEmbedding(slot, req.key, emb);
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
    const remote = this.decoderSlots.get(req.slot);
    const slot = remote ? null : this.slot(req.slot);
    const modelId = remote ? remote.modelId : (slot?.modelId ?? '');
    const provider: Provider = slot ? slot.provider : 'wasm';
    const cacheKey = `${modelId}|${req.key}`;
    let emb = this.cache.get(cacheKey);
    if (!emb && slot) {
      const running = this.inflight.get(cacheKey);
      if (running) emb = await running;
    }
    if (!emb && remote) {
      // Pushed before the encode was answered, but on another channel: it may still be in flight.
      await this.awaitArrival(cacheKey, EMBEDDING_WAIT_MS);
      emb = this.cache.get(cacheKey);
      if (!emb)
        throw new AppError('stale', 'This decoder worker has no embedding for this slice.', {
          subject: 'embedding-missing',
        });
    }
    if (!emb)
      throw new AppError(
        'invalid-argument',
        'This slice is not encoded for this model yet; encode it first.',
        { subject: req.key },
      );
    this.pinned.set(cacheKey, (this.pinned.get(cacheKey) ?? 0) + 1);
    try {
      const runner = remote ? remote.decoder : slot?.pipeline;
      if (!runner) throw new AppError('internal', `No decoder in slot '${req.slot}'.`);
      const r = await runner.decode(emb, req.prompts, req.maskInputs);
      const transfer: Transferable[] = [];
      const sets = r.sets.map((d) => toOut(d, req.keepLowRes === true, transfer));
      return {
        result: {
          key: req.key,
          sets,
          decodeMs: r.decodeMs,
          postprocessMs: r.postprocessMs,
          calls: r.calls,
          provider,
          threads: this.threads,
          worker: remote ? 'decoder' : 'inference',
        },
        transfer,
      };
    } catch (e) {
      if (this.gpuLost && provider === 'webgpu')
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

function candOut(c: MaskCandidate, transfer: Transferable[]): MaskCandidate {
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
