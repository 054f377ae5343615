/**
 * "Clear session": wipes what this app may have left in the browser — Cache Storage, IndexedDB, the origin
 * private file system (OPFS), localStorage and sessionStorage — so nothing derived from a patient's images
 * stays at rest (reliability item 20). Downloaded models may be kept: they are public weights, keyed by
 * their hub URL, and hold no patient data. Settings that are pure configuration (the model host) are kept.
 *
 * The callers stop every worker and close every IndexedDB connection first; a database that stays blocked
 * is reported, never silently left behind.
 */
import { AppError } from '../core/errors';

export interface ClearOptions {
  /** Cache Storage names to keep (the model cache when the user keeps models). */
  readonly keepCaches: readonly string[];
  /** localStorage keys that are configuration, not data. */
  readonly keepLocalStorage: readonly string[];
  /** How long to wait for a database whose connections have not closed yet. */
  readonly blockedTimeoutMs?: number;
}

export interface ClearReport {
  readonly caches: number;
  readonly databases: number;
  readonly opfsEntries: number;
  readonly storageKeys: number;
}

function deleteDatabase(name: string, timeoutMs: number): Promise<void> {
  return new Promise((ok, fail) => {
    const r = indexedDB.deleteDatabase(name);
    let timer: ReturnType<typeof setTimeout> | null = null;
    r.onsuccess = () => {
      if (timer) clearTimeout(timer);
      ok();
    };
    r.onerror = () => {
      if (timer) clearTimeout(timer);
      fail(new AppError('internal', `Could not delete the browser database "${name}".`, { cause: r.error }));
    };
    r.onblocked = () => {
      timer ??= setTimeout(() => {
        fail(
          new AppError(
            'internal',
            `The browser database "${name}" is still open in another tab of this app. Close the other tabs and clear again.`,
          ),
        );
      }, timeoutMs);
    };
  });
}

export async function wipeBrowserStorage(opts: ClearOptions): Promise<ClearReport> {
  let caches_ = 0;
  if (typeof caches !== 'undefined') {
    for (const name of await caches.keys()) {
      if (opts.keepCaches.includes(name)) continue;
      if (await caches.delete(name)) caches_++;
    }
  }
  let databases = 0;
  if (typeof indexedDB !== 'undefined') {
    for (const db of await indexedDB.databases()) {
      if (!db.name) continue;
      await deleteDatabase(db.name, opts.blockedTimeoutMs ?? 5000);
      databases++;
    }
  }
  let opfsEntries = 0;
  const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  if (typeof storage?.getDirectory === 'function') {
    const root = await storage.getDirectory();
    const names: string[] = [];
    for await (const name of root.keys()) names.push(name);
    for (const name of names) {
      await root.removeEntry(name, { recursive: true });
      opfsEntries++;
    }
  }
  let storageKeys = 0;
  const keys = Array.from({ length: localStorage.length }, (_, i) => localStorage.key(i)).filter(
    (k): k is string => k !== null && !opts.keepLocalStorage.includes(k),
  );
  for (const k of keys) {
    localStorage.removeItem(k);
    storageKeys++;
  }
  storageKeys += sessionStorage.length;
  sessionStorage.clear();
  return { caches: caches_, databases, opfsEntries, storageKeys };
}

export function describeClear(r: ClearReport, keptModels: boolean): string {
  const parts = [
    `${r.caches} cache${r.caches === 1 ? '' : 's'}`,
    `${r.databases} database${r.databases === 1 ? '' : 's'}`,
    `${r.opfsEntries} stored file${r.opfsEntries === 1 ? '' : 's'}`,
    `${r.storageKeys} saved value${r.storageKeys === 1 ? '' : 's'}`,
  ];
  return `Session cleared: ${parts.join(', ')} removed${keptModels ? '; downloaded models kept' : ''}.`;
}
