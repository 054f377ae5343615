/**
 * One typed bridge to a worker (main thread side), in the style of niivue's NVWorker: every call has an
 * id and its own promise, buffers travel as transferables, and events stream beside the answers. Its
 * failure paths are the point: a worker whose script fails to load, that crashes (`error`), or whose
 * message cannot be read (`messageerror`) rejects every pending call with a typed AppError
 * ('worker-failed') that says what happened, and every later call fails fast with it; `terminate()`
 * rejects every pending call with 'worker-terminated'. Nothing waits forever on a dead worker.
 *
 * Pure (no Worker global, no ONNX Runtime): the inference client (runtime/client.ts) and the batch
 * engine (app/batch-engine.ts) both use it, and tests drive it with a fake port.
 */
import { AppError, isSerializedAppError, type SerializedAppError } from '../core/errors';

/** What a Worker's `error` event carries (an ErrorEvent for an uncaught error; a bare Event on a failed load). */
export interface WorkerErrorLike {
  readonly message?: string;
  readonly filename?: string;
  readonly lineno?: number;
  preventDefault?: () => void;
}

/** The part of a Worker the bridge uses (a Worker, a MessagePort-backed fake in tests). */
export interface WorkerLike {
  postMessage: (msg: unknown, transfer: Transferable[]) => void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror?: ((ev: WorkerErrorLike) => void) | null;
  onmessageerror?: ((ev: unknown) => void) | null;
  terminate?: () => void;
}

/** Main thread → worker. */
export interface RequestEnvelope<Req> {
  readonly id: number;
  readonly req: Req;
}

/** Worker → main thread: the answer to one call. */
export type ResponseEnvelope =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: SerializedAppError };

/** Worker → main thread: an answer, or an event (no id) that streams beside the calls. */
export type BridgeMessage<Ev> = ResponseEnvelope | { readonly id?: undefined; readonly ev: Ev };

export interface BridgeOptions {
  /** How the UI names the worker, e.g. 'inference worker'. */
  readonly name: string;
  /** What the user can do when it fails, e.g. 'Reload the page.' */
  readonly hint: string;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: AppError) => void;
}

export class WorkerBridge<
  Req extends { readonly kind: string },
  Results extends Record<Req['kind'], unknown>,
  Ev,
> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(ev: Ev) => void>();
  private readonly failureListeners = new Set<(e: AppError) => void>();
  /** Set once the worker failed or was terminated: later calls reject with it at once. */
  private closedWith: AppError | null = null;
  /** Whether anything came back yet (a worker that fails before that could not start). */
  private heard = false;

  constructor(
    private readonly port: WorkerLike,
    private readonly options: BridgeOptions,
  ) {
    port.onmessage = (ev) => {
      this.heard = true;
      this.receive(ev.data as BridgeMessage<Ev>);
    };
    port.onerror = (ev) => {
      // Handled here: the error reaches the user as a typed error, not as an uncaught one.
      ev.preventDefault?.();
      const where = ev.filename ? ` at ${ev.filename}${ev.lineno ? `:${ev.lineno}` : ''}` : '';
      const detail = `${ev.message ?? 'error event without a message'}${where}`;
      this.fail(
        this.heard
          ? new AppError(
              'worker-failed',
              `The ${options.name} crashed${ev.message ? ` (${ev.message})` : ''}; its pending work was cancelled. ${options.hint}`,
              { detail },
            )
          : new AppError(
              'worker-failed',
              `The ${options.name} could not start (its script failed to load or failed on start). ${options.hint}`,
              { detail },
            ),
      );
    };
    port.onmessageerror = () => {
      this.fail(
        new AppError(
          'worker-failed',
          `A message from the ${options.name} could not be read; its pending work was cancelled. ${options.hint}`,
        ),
      );
    };
  }

  private receive(msg: BridgeMessage<Ev>): void {
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
          : new AppError('internal', `Malformed error from the ${this.options.name}`),
      );
  }

  /** Calls still waiting for an answer. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Why the bridge no longer takes calls (failed or terminated), or null while it does. */
  get closedReason(): AppError | null {
    return this.closedWith;
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Sends one request; resolves with the worker's answer for that request kind, or rejects with an AppError. */
  call<K extends Req['kind']>(
    req: Extract<Req, { kind: K }>,
    transfer: Transferable[] = [],
  ): Promise<Results[K]> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise<Results[K]>((resolve, reject) => {
      // The worker answers a request with the result type of its kind (the protocol's result map).
      this.pending.set(id, { resolve: (v) => resolve(v as Results[K]), reject });
      try {
        const env: RequestEnvelope<Req> = { id, req };
        this.port.postMessage(env, transfer);
      } catch (e) {
        this.pending.delete(id);
        reject(
          new AppError('internal', `Could not send the request to the ${this.options.name}.`, { cause: e }),
        );
      }
    });
  }

  /** Events (no id) from the worker, e.g. progress; returns the unsubscribe. */
  onEvent(cb: (ev: Ev) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Called once if the worker fails (not on terminate()); returns the unsubscribe. */
  onFailure(cb: (e: AppError) => void): () => void {
    this.failureListeners.add(cb);
    return () => this.failureListeners.delete(cb);
  }

  /** Stops the worker; every pending call rejects with 'worker-terminated', and so does every later one. */
  terminate(): void {
    if (this.closedWith) return;
    this.close(
      new AppError(
        'worker-terminated',
        `The ${this.options.name} was stopped; its pending work was cancelled.`,
      ),
    );
  }

  private fail(err: AppError): void {
    if (this.closedWith) return;
    this.close(err);
    for (const l of this.failureListeners) l(err);
  }

  private close(err: AppError): void {
    this.closedWith = err;
    this.port.onmessage = null;
    this.port.terminate?.();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
  }
}
