/**
 * Typed client for the inference worker (main thread). Every request has an id; transferables move
 * buffers without copies; terminate() rejects every pending call. Decodes go through channels that
 * coalesce: while one decode runs, only the newest waiting request survives, and a result that a newer
 * request overtook comes back as null (stale) so the UI never shows it.
 */
import { AppError, isSerializedAppError } from '../core/errors';
import type {
  DecodeRequest,
  DecodeResult,
  ResultMap,
  WorkerEvent,
  WorkerMessage,
  WorkerRequest,
} from './protocol';

export interface PortLike {
  postMessage: (msg: unknown, transfer: Transferable[]) => void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  terminate?: () => void;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: AppError) => void;
}

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

export class InferenceClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(ev: WorkerEvent) => void>();
  private readonly channels = new Map<string, Channel>();
  private terminated = false;

  constructor(private readonly port: PortLike) {
    port.onmessage = (ev) => {
      this.receive(ev.data as WorkerMessage);
    };
  }

  private receive(msg: WorkerMessage): void {
    if (msg.id === undefined) {
      for (const l of this.listeners) l(msg.ev);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else
      p.reject(
        isSerializedAppError(msg.error)
          ? AppError.fromJSON(msg.error)
          : new AppError('internal', 'Malformed worker error'),
      );
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  request<K extends WorkerRequest['kind']>(
    req: Extract<WorkerRequest, { kind: K }>,
    transfer: Transferable[] = [],
  ): Promise<ResultMap[K]> {
    if (this.terminated)
      return Promise.reject(
        new AppError('worker-terminated', 'The inference worker has stopped. Reload the models.'),
      );
    const id = this.nextId++;
    return new Promise<ResultMap[K]>((resolve, reject) => {
      // The worker answers with the result type of this request kind (protocol.ts ResultMap).
      this.pending.set(id, {
        resolve: (v: unknown) => {
          resolve(v as ResultMap[K]);
        },
        reject,
      });
      try {
        this.port.postMessage({ id, req }, transfer);
      } catch (e) {
        this.pending.delete(id);
        reject(new AppError('internal', 'Could not send the request to the inference worker.', { cause: e }));
      }
    });
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
    this.terminated = true;
    this.port.terminate?.();
    const err = new AppError(
      'worker-terminated',
      'The inference worker was stopped; pending work was cancelled.',
    );
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const c of this.channels.values()) {
      c.waiting?.reject(err);
      c.waiting = null;
    }
  }
}
