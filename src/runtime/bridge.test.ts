/**
 * The worker bridge's failure paths, with a fake Worker: a worker whose script does not load, that
 * crashes or whose message cannot be read rejects every pending call with a typed error, and so does
 * terminate(); answers reach the call with their id, whatever the order.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors';
import { WorkerBridge, type WorkerErrorLike, type WorkerLike } from './bridge';
import { InferenceClient } from './client';

interface Sent {
  readonly id: number;
  readonly req: { readonly kind: string; readonly value?: number };
}

/** A Worker stand-in: records what is posted, and answers, errs or fails to clone on demand. */
class FakeWorker implements WorkerLike {
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: WorkerErrorLike) => void) | null = null;
  onmessageerror: ((ev: unknown) => void) | null = null;
  readonly sent: Sent[] = [];
  terminated = false;
  prevented = 0;

  postMessage(msg: unknown): void {
    this.sent.push(msg as Sent);
  }
  terminate(): void {
    this.terminated = true;
  }
  answer(id: number, result: unknown): void {
    this.onmessage?.({ data: { id, ok: true, result } });
  }
  event(ev: unknown): void {
    this.onmessage?.({ data: { ev } });
  }
  /** What a browser does when the worker's script answers 404: an `error` event without a message. */
  failToLoad(): void {
    this.onerror?.({
      preventDefault: () => {
        this.prevented++;
      },
    });
  }
  crash(message: string): void {
    this.onerror?.({ message, filename: 'worker.js', lineno: 7 });
  }
  unreadable(): void {
    this.onmessageerror?.({});
  }
}

type Req = { kind: 'echo'; value: number } | { kind: 'stop' };
interface Results {
  echo: number;
  stop: null;
}

function open(): { worker: FakeWorker; bridge: WorkerBridge<Req, Results, string> } {
  const worker = new FakeWorker();
  return { worker, bridge: new WorkerBridge(worker, { name: 'test worker', hint: 'Reload the page.' }) };
}

/** How a promise stands after the queued work ran: its value, its error, or 'pending'. */
async function settled<T>(p: Promise<T>): Promise<{ value: T } | { error: unknown } | 'pending'> {
  return Promise.race([
    p.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    new Promise<'pending'>((ok) => setTimeout(() => ok('pending'), 50)),
  ]);
}

function appError(s: Awaited<ReturnType<typeof settled>>): AppError {
  if (s === 'pending' || !('error' in s) || !(s.error instanceof AppError))
    throw new Error(`expected a rejection with an AppError, got ${JSON.stringify(s)}`);
  return s.error;
}

describe('WorkerBridge', () => {
  it('routes answers to their calls by id when they come back out of order', async () => {
    const { worker, bridge } = open();
    const calls = [1, 2, 3].map((value) => bridge.call({ kind: 'echo', value }));
    expect(worker.sent.map((s) => s.id)).toEqual([1, 2, 3]);
    for (const s of [...worker.sent].reverse()) worker.answer(s.id, (s.req.value ?? 0) * 10);
    await expect(Promise.all(calls)).resolves.toEqual([10, 20, 30]);
    expect(bridge.pendingCount).toBe(0);
  });

  it('streams events beside the calls', () => {
    const { worker, bridge } = open();
    const seen: string[] = [];
    bridge.onEvent((e) => seen.push(e));
    worker.event('progress 1');
    worker.event('progress 2');
    expect(seen).toEqual(['progress 1', 'progress 2']);
  });

  it('rejects every pending call when the script fails to load, and later calls at once', async () => {
    const { worker, bridge } = open();
    const failures: AppError[] = [];
    bridge.onFailure((e) => failures.push(e));
    const a = bridge.call({ kind: 'echo', value: 1 });
    const b = bridge.call({ kind: 'stop' });
    worker.failToLoad();
    for (const p of [a, b]) {
      const err = appError(await settled(p));
      expect(err.code).toBe('worker-failed');
      expect(err.message).toBe(
        'The test worker could not start (its script failed to load or failed on start). Reload the page.',
      );
    }
    expect(worker.prevented).toBe(1);
    expect(worker.terminated).toBe(true);
    expect(failures).toHaveLength(1);
    expect(bridge.closed).toBe(true);
    expect(appError(await settled(bridge.call({ kind: 'echo', value: 2 }))).code).toBe('worker-failed');
    expect(worker.sent).toHaveLength(2);
  });

  it('says the worker crashed, with its message, when it fails after answering', async () => {
    const { worker, bridge } = open();
    const first = bridge.call({ kind: 'echo', value: 1 });
    worker.answer(1, 1);
    await first;
    const pending = bridge.call({ kind: 'echo', value: 2 });
    worker.crash('Uncaught RangeError: out of bounds');
    const err = appError(await settled(pending));
    expect(err.code).toBe('worker-failed');
    expect(err.message).toContain('The test worker crashed (Uncaught RangeError: out of bounds)');
    expect(err.detail).toContain('worker.js:7');
  });

  it('rejects every pending call on messageerror', async () => {
    const { worker, bridge } = open();
    const calls = [bridge.call({ kind: 'echo', value: 1 }), bridge.call({ kind: 'echo', value: 2 })];
    worker.unreadable();
    for (const p of calls) {
      const err = appError(await settled(p));
      expect(err.code).toBe('worker-failed');
      expect(err.message).toContain('could not be read');
    }
  });

  it('terminate() rejects every pending call and every later one, and stops the worker', async () => {
    const { worker, bridge } = open();
    const failures: AppError[] = [];
    bridge.onFailure((e) => failures.push(e));
    const calls = [bridge.call({ kind: 'echo', value: 1 }), bridge.call({ kind: 'stop' })];
    bridge.terminate();
    for (const p of calls) expect(appError(await settled(p)).code).toBe('worker-terminated');
    expect(appError(await settled(bridge.call({ kind: 'stop' }))).code).toBe('worker-terminated');
    expect(worker.terminated).toBe(true);
    // Stopping on purpose is not a failure.
    expect(failures).toHaveLength(0);
    // An answer that arrives after the end is dropped.
    worker.answer(1, 1);
  });

  it('turns a worker error into an AppError with its code', async () => {
    const { worker, bridge } = open();
    const p = bridge.call({ kind: 'echo', value: 1 });
    worker.onmessage?.({
      data: { id: 1, ok: false, error: new AppError('corrupt-file', 'Bad file').toJSON() },
    });
    const err = appError(await settled(p));
    expect(err.code).toBe('corrupt-file');
    expect(err.message).toBe('Bad file');
  });
});

describe('InferenceClient over a worker that fails', () => {
  it('init rejects with a clear error when the worker script fails to load (no hang)', async () => {
    const worker = new FakeWorker();
    const client = new InferenceClient(worker);
    const init = client.request({ kind: 'init', threads: 1 });
    worker.failToLoad();
    const err = appError(await settled(init));
    expect(err.code).toBe('worker-failed');
    expect(err.message).toMatch(/inference worker could not start.*Reload the page/);
    expect(client.pendingCount).toBe(0);
    // Later calls fail fast, naming the same cause.
    expect(appError(await settled(client.request({ kind: 'cache-stats' }))).code).toBe('worker-failed');
  });

  it('a crash rejects every pending call, decodes waiting on a channel included', async () => {
    const worker = new FakeWorker();
    const client = new InferenceClient(worker);
    const init = client.request({ kind: 'init', threads: 1 });
    worker.answer(1, { threads: 1, crossOriginIsolated: false });
    await init;
    const req = { kind: 'decode', slot: 'sam', key: 'k', prompts: [] } as const;
    const running = client.decodeLatest('sam', req);
    const waiting = client.decodeLatest('sam', req);
    const stats = client.request({ kind: 'cache-stats' });
    worker.crash('Uncaught Error: boom');
    for (const p of [running, waiting]) expect(appError(await settled(p)).code).toBe('worker-failed');
    expect(appError(await settled(stats)).code).toBe('worker-failed');
  });
});
