/**
 * Batch results in IndexedDB, written as each unit finishes, so a reload resumes where it stopped and a
 * cancelled run keeps everything finished. Works in windows and workers.
 */
import { AppError } from '../core/errors';
import type { ResultRow } from './results';

export interface RunMeta {
  readonly id: string;
  readonly dataset: string;
  /** Hash of the dataset's file list (names and sizes): the same folder dropped again resumes. */
  readonly fingerprint: string;
  readonly createdAt: string;
  readonly status: 'running' | 'paused' | 'cancelled' | 'done' | 'error';
  readonly totalUnits: number;
  readonly doneUnits: number;
  /** Everything needed to reproduce the run (protocol, models, window, sampling), as JSON. */
  readonly settings: unknown;
}

const DB = 'sam-compare-batch';
const VERSION = 1;

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((ok, err) => {
    r.onsuccess = () => {
      ok(r.result);
    };
    r.onerror = () => {
      err(
        new AppError('internal', `Browser storage failed: ${r.error?.message ?? 'unknown error'}`, {
          cause: r.error,
        }),
      );
    };
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((ok, err) => {
    tx.oncomplete = () => {
      ok();
    };
    tx.onerror = () => {
      err(
        new AppError(
          'quota',
          `Could not save batch results: ${tx.error?.message ?? 'storage error'}. Free browser storage and resume.`,
          { cause: tx.error },
        ),
      );
    };
    tx.onabort = () => {
      err(
        new AppError(
          'quota',
          `Saving batch results was aborted: ${tx.error?.message ?? 'storage full?'}. Free browser storage and resume.`,
          { cause: tx.error },
        ),
      );
    };
  });
}

export class BatchStore {
  private dbp: Promise<IDBDatabase> | null = null;

  constructor(private readonly factory: IDBFactory = indexedDB) {}

  private db(): Promise<IDBDatabase> {
    this.dbp ??= new Promise((ok, err) => {
      const r = this.factory.open(DB, VERSION);
      r.onupgradeneeded = () => {
        const db = r.result;
        if (!db.objectStoreNames.contains('runs')) db.createObjectStore('runs', { keyPath: 'id' });
        if (!db.objectStoreNames.contains('units')) {
          const s = db.createObjectStore('units', { keyPath: ['run', 'unit'] });
          s.createIndex('run', 'run');
        }
      };
      r.onsuccess = () => {
        ok(r.result);
      };
      r.onerror = () => {
        err(
          new AppError(
            'internal',
            'Browser storage (IndexedDB) is unavailable; batch results cannot be kept.',
            { cause: r.error },
          ),
        );
      };
    });
    return this.dbp;
  }

  /** Closes the connection (so the database can be deleted); the next call opens it again. */
  async close(): Promise<void> {
    const p = this.dbp;
    this.dbp = null;
    if (p) (await p.catch(() => null))?.close();
  }

  async putRun(meta: RunMeta): Promise<void> {
    const db = await this.db();
    const tx = db.transaction('runs', 'readwrite');
    tx.objectStore('runs').put(meta);
    await done(tx);
  }

  async getRun(id: string): Promise<RunMeta | undefined> {
    const db = await this.db();
    return (await req(db.transaction('runs').objectStore('runs').get(id))) as RunMeta | undefined;
  }

  async runs(): Promise<RunMeta[]> {
    const db = await this.db();
    const all = (await req(db.transaction('runs').objectStore('runs').getAll())) as RunMeta[];
    return all.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async hasUnit(run: string, unit: string): Promise<boolean> {
    const db = await this.db();
    return (await req(db.transaction('units').objectStore('units').count([run, unit]))) > 0;
  }

  /** Writes one unit's rows and the run's progress in one transaction: both or neither. */
  async putUnit(run: string, unit: string, rows: readonly ResultRow[], meta?: RunMeta): Promise<void> {
    const db = await this.db();
    const tx = db.transaction(['units', 'runs'], 'readwrite');
    tx.objectStore('units').put({ run, unit, rows });
    if (meta) tx.objectStore('runs').put(meta);
    await done(tx);
  }

  async unitCount(run: string): Promise<number> {
    const db = await this.db();
    return req(db.transaction('units').objectStore('units').index('run').count(run));
  }

  async rows(run: string): Promise<ResultRow[]> {
    const db = await this.db();
    const units = (await req(db.transaction('units').objectStore('units').index('run').getAll(run))) as {
      unit: string;
      rows: ResultRow[];
    }[];
    return units.sort((a, b) => a.unit.localeCompare(b.unit, 'en', { numeric: true })).flatMap((u) => u.rows);
  }

  async deleteRun(run: string): Promise<void> {
    const db = await this.db();
    const tx = db.transaction(['units', 'runs'], 'readwrite');
    const units = tx.objectStore('units');
    const keys = await req(units.index('run').getAllKeys(run));
    for (const k of keys) units.delete(k);
    tx.objectStore('runs').delete(run);
    await done(tx);
  }

  async clearAll(): Promise<void> {
    const db = await this.db();
    const tx = db.transaction(['units', 'runs'], 'readwrite');
    tx.objectStore('units').clear();
    tx.objectStore('runs').clear();
    await done(tx);
  }
}
