/**
 * Downloading model files: streamed with progress (bytes, rate, ETA) and cancel, resumed with HTTP Range
 * after a dropped connection, checked before anything is cached (size, ONNX header, SHA-256 where known),
 * and cached in Cache Storage so a second visit loads offline. The SHA-256 of every file is computed and
 * recorded either way (trust on first use). Nothing partial is ever cached.
 */
import { AppError, toAppError } from '../core/errors';
import { readOnnxHeader, type OnnxHeader } from '../core/models/onnx-header';

export interface DownloadProgress {
  readonly url: string;
  readonly received: number;
  readonly total: number | null;
  readonly bytesPerSec: number;
  readonly etaSec: number | null;
  readonly phase: 'cache' | 'download' | 'verify' | 'done';
  readonly attempt: number;
}

export interface CachedMeta {
  readonly url: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly fetchedAt: string;
}

/** Where verified model bytes are kept; Cache Storage in the browser, memory in tests. */
export interface ModelCache {
  get: (url: string) => Promise<{ bytes: Uint8Array; meta: CachedMeta } | null>;
  put: (meta: CachedMeta, bytes: Uint8Array) => Promise<void>;
  delete: (url: string) => Promise<void>;
  list: () => Promise<CachedMeta[]>;
}

export interface FetchedFile {
  readonly url: string;
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly fromCache: boolean;
  /** Something the user should know (e.g. storage full, so it runs from memory). */
  readonly notice?: string;
  readonly header?: OnnxHeader;
}

export interface FetchOptions {
  readonly kind: 'model' | 'external-data';
  readonly cache?: ModelCache | null;
  readonly expectedSha256?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: DownloadProgress) => void;
  readonly fetchImpl?: typeof fetch;
  /** Abort when no byte arrives for this long (a stalled server). */
  readonly stallMs?: number;
  /** Resume attempts after a dropped connection. */
  readonly maxResumes?: number;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function httpError(url: string, status: number): AppError {
  if (status === 404 || status === 401 || status === 403) {
    return new AppError(
      'model-missing',
      `Model file missing (HTTP ${status}) at ${url}. Check the model host setting and that the repository still has this file.`,
      {
        subject: url,
        detail: `HTTP ${status}`,
      },
    );
  }
  return new AppError(
    'network',
    `The model host answered HTTP ${status} for ${url}. Try again in a moment (Retry).`,
    { subject: url, detail: `HTTP ${status}` },
  );
}

function isQuotaError(e: unknown): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    ((e as { name?: unknown }).name === 'QuotaExceededError' ||
      /quota/i.test(String((e as { message?: unknown }).message)))
  );
}

interface Stream {
  read: () => Promise<{ done: boolean; value?: Uint8Array }>;
  cancel: () => Promise<void>;
}

async function readWithStall(
  reader: Stream,
  stallMs: number,
  signal?: AbortSignal,
): Promise<{ done: boolean; value?: Uint8Array }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stall = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new AppError(
          'network',
          `The download stalled: no data for ${Math.round(stallMs / 1000)} s. Check the connection and retry.`,
          { detail: 'stall' },
        ),
      );
    }, stallMs);
  });
  const abort = new Promise<never>((_, reject) => {
    if (signal?.aborted) reject(new AppError('cancelled', 'Download cancelled.'));
    signal?.addEventListener('abort', () => {
      reject(new AppError('cancelled', 'Download cancelled.'));
    });
  });
  try {
    return await Promise.race([reader.read(), stall, abort]);
  } finally {
    clearTimeout(timer);
  }
}

/** Downloads (or reads from the cache) one model file, verified. */
export async function fetchModelFile(url: string, opts: FetchOptions): Promise<FetchedFile> {
  const fetchImpl = opts.fetchImpl ?? fetch;
  const stallMs = opts.stallMs ?? 30_000;
  const maxResumes = opts.maxResumes ?? 2;
  const cache = opts.cache ?? null;
  const progress = (p: Omit<DownloadProgress, 'url'>) => opts.onProgress?.({ url, ...p });

  if (cache) {
    const hit = await cache.get(url).catch(() => null);
    if (
      hit &&
      hit.bytes.length === hit.meta.bytes &&
      (!opts.expectedSha256 || opts.expectedSha256 === hit.meta.sha256)
    ) {
      progress({
        received: hit.bytes.length,
        total: hit.bytes.length,
        bytesPerSec: 0,
        etaSec: 0,
        phase: 'cache',
        attempt: 0,
      });
      const header = opts.kind === 'model' ? readOnnxHeader(hit.bytes) : undefined;
      return {
        url,
        bytes: hit.bytes,
        sha256: hit.meta.sha256,
        fromCache: true,
        ...(header ? { header } : {}),
      };
    }
    if (hit) await cache.delete(url).catch(() => undefined);
  }

  const chunks: Uint8Array[] = [];
  let received = 0;
  let total: number | null = null;
  const t0 = performance.now();
  let attempt = 0;
  for (;;) {
    if (opts.signal?.aborted) throw new AppError('cancelled', 'Download cancelled.');
    const headers: Record<string, string> = received > 0 ? { Range: `bytes=${received}-` } : {};
    let res: Response;
    try {
      res = await fetchImpl(url, {
        signal: opts.signal ?? null,
        headers,
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (e) {
      if (opts.signal?.aborted) throw new AppError('cancelled', 'Download cancelled.');
      if (attempt < maxResumes && received > 0) {
        attempt++;
        continue;
      }
      throw new AppError(
        'network',
        `The download of ${url} failed (the connection failed or closed early). Check the connection and the model host setting, then retry.`,
        {
          cause: e,
          detail: e instanceof Error ? e.message : String(e),
          subject: url,
        },
      );
    }
    if (received > 0 && res.status === 200) {
      // The server ignored the Range header: start over rather than splice two different bodies.
      chunks.length = 0;
      received = 0;
    } else if (received > 0 && res.status !== 206) {
      throw httpError(url, res.status);
    } else if (received === 0 && !res.ok) {
      throw httpError(url, res.status);
    }
    const type = res.headers.get('content-type') ?? '';
    if (/text\/html/i.test(type)) {
      throw new AppError(
        'model-missing',
        `Model file missing or damaged: ${url} returned a web page instead of a model. Check the model host and file name.`,
        {
          subject: url,
          detail: type,
        },
      );
    }
    const len = Number(res.headers.get('content-length') ?? NaN);
    if (res.status === 206) {
      const range = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
      total = range ? Number(range[1]) : total;
    } else if (Number.isFinite(len) && !res.headers.get('content-encoding')) {
      total = len;
    }
    if (!res.body)
      throw new AppError('network', `The model host sent an empty body for ${url}.`, { subject: url });
    const reader = res.body.getReader() as unknown as Stream;
    try {
      for (;;) {
        const { done, value } = await readWithStall(reader, stallMs, opts.signal);
        if (done) break;
        if (!value) continue;
        chunks.push(value);
        received += value.length;
        const secs = Math.max(1e-3, (performance.now() - t0) / 1000);
        const rate = received / secs;
        progress({
          received,
          total,
          bytesPerSec: rate,
          etaSec: total ? Math.max(0, (total - received) / rate) : null,
          phase: 'download',
          attempt,
        });
      }
    } catch (e) {
      await reader.cancel().catch(() => undefined);
      const err = toAppError(e, 'network');
      if (err.code === 'cancelled') throw err;
      if (err.detail === 'stall') throw err;
      if (attempt < maxResumes) {
        attempt++;
        continue;
      }
      throw new AppError(
        'network',
        `The download of ${url} broke off after ${received} bytes. Retry to resume.`,
        { cause: e, subject: url },
      );
    }
    if (total !== null && received < total) {
      // Connection closed early without an error: resume.
      if (attempt < maxResumes) {
        attempt++;
        continue;
      }
      throw new AppError(
        'model-integrity',
        `Download truncated: got ${received} of ${total} bytes from ${url}. Retry.`,
        { subject: url },
      );
    }
    break;
  }

  progress({ received, total, bytesPerSec: 0, etaSec: 0, phase: 'verify', attempt });
  const bytes = new Uint8Array(received);
  let o = 0;
  for (const c of chunks) {
    bytes.set(c, o);
    o += c.length;
  }
  chunks.length = 0;
  if (total !== null && received !== total) {
    throw new AppError(
      'model-integrity',
      `Model file damaged: ${received} bytes received, ${total} announced. Retry the download.`,
      { subject: url },
    );
  }
  const header = opts.kind === 'model' ? readOnnxHeader(bytes) : undefined;
  const sha256 = await sha256Hex(bytes);
  if (opts.expectedSha256 && opts.expectedSha256.toLowerCase() !== sha256) {
    throw new AppError(
      'model-integrity',
      `Model file damaged or changed: SHA-256 ${sha256.slice(0, 12)}… does not match the expected ${opts.expectedSha256.slice(0, 12)}…. It was not cached.`,
      {
        subject: url,
        detail: sha256,
      },
    );
  }
  let notice: string | undefined;
  if (cache) {
    try {
      await cache.put({ url, bytes: bytes.length, sha256, fetchedAt: new Date().toISOString() }, bytes);
    } catch (e) {
      await cache.delete(url).catch(() => undefined);
      notice = isQuotaError(e)
        ? 'Browser storage is full: the model runs from memory this time and will be downloaded again on the next visit. Free space under Models → cached.'
        : `The model could not be cached (${e instanceof Error ? e.message : String(e)}); it runs from memory.`;
    }
  }
  progress({ received, total, bytesPerSec: 0, etaSec: 0, phase: 'done', attempt });
  return {
    url,
    bytes,
    sha256,
    fromCache: false,
    ...(notice ? { notice } : {}),
    ...(header ? { header } : {}),
  };
}

/** The Cache Storage name holding downloaded models (public weights only; never patient data). */
export const MODEL_CACHE_NAME = 'sam-compare-models-v1';

/** Cache Storage, one Response per file; metadata in headers. */
export class CacheStorageModelCache implements ModelCache {
  constructor(private readonly name = MODEL_CACHE_NAME) {}

  private open(): Promise<Cache> {
    return caches.open(this.name);
  }

  async get(url: string): Promise<{ bytes: Uint8Array; meta: CachedMeta } | null> {
    const c = await this.open();
    const res = await c.match(url);
    if (!res) return null;
    const meta = metaFrom(url, res.headers);
    if (!meta) return null;
    return { bytes: new Uint8Array(await res.arrayBuffer()), meta };
  }

  async put(meta: CachedMeta, bytes: Uint8Array): Promise<void> {
    const c = await this.open();
    await c.put(
      meta.url,
      new Response(bytes as Uint8Array<ArrayBuffer>, {
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(meta.bytes),
          'x-model-bytes': String(meta.bytes),
          'x-model-sha256': meta.sha256,
          'x-fetched-at': meta.fetchedAt,
        },
      }),
    );
  }

  async delete(url: string): Promise<void> {
    const c = await this.open();
    await c.delete(url);
  }

  async list(): Promise<CachedMeta[]> {
    const c = await this.open();
    const out: CachedMeta[] = [];
    for (const req of await c.keys()) {
      const res = await c.match(req);
      const m = res ? metaFrom(req.url, res.headers) : null;
      if (m) out.push(m);
    }
    return out;
  }
}

function metaFrom(url: string, h: Headers): CachedMeta | null {
  const bytes = Number(h.get('x-model-bytes'));
  const sha256 = h.get('x-model-sha256');
  if (!Number.isFinite(bytes) || !sha256) return null;
  return { url, bytes, sha256, fetchedAt: h.get('x-fetched-at') ?? '' };
}

/** In-memory cache (tests, and browsers without Cache Storage). */
export class MemoryModelCache implements ModelCache {
  readonly map = new Map<string, { bytes: Uint8Array; meta: CachedMeta }>();
  failWith: Error | null = null;
  get(url: string) {
    return Promise.resolve(this.map.get(url) ?? null);
  }
  put(meta: CachedMeta, bytes: Uint8Array) {
    if (this.failWith) return Promise.reject(this.failWith);
    this.map.set(meta.url, { bytes: bytes.slice(), meta });
    return Promise.resolve();
  }
  delete(url: string) {
    this.map.delete(url);
    return Promise.resolve();
  }
  list() {
    return Promise.resolve([...this.map.values()].map((v) => v.meta));
  }
}
