/**
 * Typed client for the inference worker (main thread). Every request has an id; transferables move
 * buffers without copies; terminate() rejects every pending call. Decodes go through channels that
 * coalesce: while one decode runs, only the newest waiting request survives, and a result that a newer
 * request overtook comes back as null (stale) so the UI never shows it.
 *
 * With a decoder-worker factory, each model slot loaded on WebAssembly also gets a decoder worker: a
 * one-thread runtime of its own that holds the slot's decoder and receives copies of the slot's
 * embeddings straight from the inference worker. Decodes go there, so a click is not decoded on the
 * encoder's thread pool (whose wake-up costs dominate a small graph) and the two models decode at the
 * same time, even while an encode runs. A decoder worker that cannot start, or has no embedding for the
 * slice, leaves the decode to the inference worker, which can always do it.
 */
import { AppError } from '../core/errors';
import { WorkerBridge, type WorkerLike } from './bridge';
import type {
  DecodeRequest,
  DecodeResult,
  LoadRequest,
  LoadResult,
  ModelBytes,
  ResultMap,
  WorkerEvent,
  WorkerRequest,
} from './protocol';

/** The worker (or a fake of it) behind a client: see bridge.ts. */
export type PortLike = WorkerLike;

interface Channel {
  running: boolean;
  gen: number;
  waiting: {
    req: DecodeRequest;
    gen: number;
    resolve: (v: DecodeResult | null) => void;
    reject: (e: unknown) => void;
  } | null;
}

/** A decoder worker per slot holds its own embedding cache (copies): room for a few slices. */
export const DECODER_CACHE_BUDGET = 128 * 1024 * 1024;

export interface ClientOptions {
  /** Starts a decoder worker (same entry as the inference worker). Without it every decode runs there. */
  readonly decoderWorker?: () => PortLike;
}

interface DecoderWorker {
  readonly client: InferenceClient;
  readonly threads: number;
}

function copyModelBytes(m: ModelBytes): ModelBytes {
  return {
    bytes: m.bytes.slice(),
    ...(m.externalData
      ? { externalData: m.externalData.map((e) => ({ path: e.path, data: e.data.slice() })) }
      : {}),
  };
}

export class InferenceClient {
  private readonly decoders = new Map<string, DecoderWorker>();
  private readonly loadGen = new Map<string, number>();
  private readonly listeners = new Set<(ev: WorkerEvent) => void>();
  private readonly channels = new Map<string, Channel>();
  private readonly bridge: WorkerBridge<WorkerRequest, ResultMap, WorkerEvent>;

  constructor(
    port: PortLike,
    private readonly options: ClientOptions = {},
    name = 'inference worker',
  ) {
    this.bridge = new WorkerBridge(port, { name, hint: 'Reload the page.' });
    this.bridge.onEvent((ev) => {
      for (const l of this.listeners) l(ev);
    });
    // A failed inference worker takes its decoder workers with it (they only hold copies of its slots).
    this.bridge.onFailure(() => {
      for (const slot of [...this.decoders.keys()]) this.stopDecoder(slot);
    });
  }

  private get terminated(): boolean {
    return this.bridge.closed;
  }

  get pendingCount(): number {
    return this.bridge.pendingCount;
  }

  /** Why this client takes no more calls (its worker failed or was terminated), or null. */
  get failure(): AppError | null {
    return this.bridge.closedReason;
  }

  /** Called once if the worker fails (a script that did not load, a crash, an unreadable message). */
  onFailure(cb: (e: AppError) => void): () => void {
    return this.bridge.onFailure(cb);
  }

  request<K extends WorkerRequest['kind']>(
    req: Extract<WorkerRequest, { kind: K }>,
    transfer: Transferable[] = [],
  ): Promise<ResultMap[K]> {
    // Each branch answers with the result type of its own request kind (protocol.ts ResultMap).
    const r: WorkerRequest = req;
    switch (r.kind) {
      case 'load':
        return this.load(r, transfer) as Promise<ResultMap[K]>;
      case 'decode':
        return this.decode(r, transfer) as Promise<ResultMap[K]>;
      case 'unload':
        this.stopDecoder(r.slot);
        break;
      case 'clear-cache':
        for (const d of this.decoders.values())
          void d.client.request({ kind: 'clear-cache' }).catch(() => null);
        break;
      default:
        break;
    }
    return this.send(req, transfer);
  }

  /** Which slots decode in a decoder worker, and with how many threads. */
  decoderThreads(slot: string): number | null {
    return this.decoders.get(slot)?.threads ?? null;
  }

  private async load(req: LoadRequest, transfer: Transferable[]): Promise<LoadResult> {
    const gen = (this.loadGen.get(req.slot) ?? 0) + 1;
    this.loadGen.set(req.slot, gen);
    this.stopDecoder(req.slot);
    const factory = this.options.decoderWorker;
    // The load transfers the model's buffers to the inference worker: keep a copy of the decoder first.
    const decoderBytes = factory && req.provider === 'wasm' ? copyModelBytes(req.decoder) : null;
    const r = await this.send(req, transfer);
    if (factory && decoderBytes && this.loadGen.get(req.slot) === gen && !this.terminated) {
      try {
        await this.startDecoder(factory, r, decoderBytes, gen);
      } catch (e) {
        this.stopDecoder(req.slot);
        const why = e instanceof Error ? e.message : String(e);
        for (const l of this.listeners)
          l({
            event: 'log',
            level: 'warn',
            message: `The ${req.slot} decoder worker did not start (${why}); decoding in the inference worker.`,
          });
      }
    }
    return r;
  }

  private async startDecoder(
    factory: () => PortLike,
    loaded: LoadResult,
    decoder: ModelBytes,
    gen: number,
  ): Promise<void> {
    const client = new InferenceClient(factory(), {}, `${loaded.slot} decoder worker`);
    const superseded = () => this.loadGen.get(loaded.slot) !== gen || this.terminated;
    try {
      client.onEvent((ev) => {
        for (const l of this.listeners) l(ev);
      });
      const init = await client.request({ kind: 'init', threads: 1, cacheBudgetBytes: DECODER_CACHE_BUDGET });
      const channel = new MessageChannel();
      const transfer: Transferable[] = [channel.port1, decoder.bytes.buffer];
      for (const e of decoder.externalData ?? []) transfer.push(e.data.buffer);
      await client.request(
        {
          kind: 'load-decoder',
          slot: loaded.slot,
          modelId: loaded.modelId,
          contract: loaded.contract,
          decoder,
          embeddings: channel.port1,
        },
        transfer,
      );
      if (superseded()) throw new AppError('stale', 'A newer model was loaded into this slot.');
      await this.send({ kind: 'connect-decoder', slot: loaded.slot, port: channel.port2 }, [channel.port2]);
      if (superseded()) throw new AppError('stale', 'A newer model was loaded into this slot.');
      this.decoders.set(loaded.slot, { client, threads: init.threads });
    } catch (e) {
      client.terminate();
      if (e instanceof AppError && e.code === 'stale') return;
      throw e;
    }
  }

  private stopDecoder(slot: string): void {
    const d = this.decoders.get(slot);
    if (!d) return;
    this.decoders.delete(slot);
    d.client.terminate();
  }

  private async decode(req: DecodeRequest, transfer: Transferable[]): Promise<DecodeResult> {
    const d = this.decoders.get(req.slot);
    if (!d) return this.send(req, transfer);
    try {
      // Nothing transferred: if the decoder worker cannot decode, the same request goes to the other.
      return await d.client.request(req);
    } catch (e) {
      const fallBack =
        e instanceof AppError &&
        ((e.code === 'stale' && e.subject === 'embedding-missing') ||
          e.code === 'worker-terminated' ||
          e.code === 'worker-failed');
      if (!fallBack || this.terminated) throw e;
      return this.send(req, transfer);
    }
  }

  private send<K extends WorkerRequest['kind']>(
    req: Extract<WorkerRequest, { kind: K }>,
    transfer: Transferable[] = [],
  ): Promise<ResultMap[K]> {
    return this.bridge.call(req, transfer);
  }

  onEvent(cb: (ev: WorkerEvent) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /**
   * Decode on a channel (one per model slot): resolves with the result, or null when a newer request on
   * the same channel overtook this one (the stale result is dropped, never shown).
   */
  decodeLatest(channel: string, req: DecodeRequest): Promise<DecodeResult | null> {
    let c = this.channels.get(channel);
    if (!c) {
      c = { running: false, gen: 0, waiting: null };
      this.channels.set(channel, c);
    }
    const gen = ++c.gen;
    if (c.running) {
      const ch = c;
      ch.waiting?.resolve(null);
      return new Promise((resolve, reject) => {
        ch.waiting = { req, gen, resolve, reject };
      });
    }
    return this.runChannel(c, req, gen);
  }

  /** Invalidates in-flight and waiting decodes of a channel (slice or model switched). */
  invalidate(channel: string): void {
    const c = this.channels.get(channel);
    if (!c) return;
    c.gen++;
    c.waiting?.resolve(null);
    c.waiting = null;
  }

  private async runChannel(c: Channel, req: DecodeRequest, gen: number): Promise<DecodeResult | null> {
    c.running = true;
    try {
      const r = await this.request(req);
      return gen === c.gen ? r : null;
    } finally {
      c.running = false;
      const w = c.waiting;
      if (w) {
        c.waiting = null;
        this.runChannel(c, w.req, w.gen).then(w.resolve, w.reject);
      }
    }
  }

  terminate(): void {
    if (this.terminated) return;
    this.bridge.terminate();
    for (const slot of [...this.decoders.keys()]) this.stopDecoder(slot);
    const err = this.bridge.closedReason;
    for (const c of this.channels.values()) {
      if (err) c.waiting?.reject(err);
      c.waiting = null;
    }
  }
}
