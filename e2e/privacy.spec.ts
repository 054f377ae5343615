/**
 * Issue 7, privacy and headers (reliability items 18–20), against the production build as served by
 * `vite preview` with the production headers (tools/security-headers.ts).
 */
import { test as plain, type Page, type Request } from '@playwright/test';
import { MODEL_PRESETS, hubUrl } from '../src/core/models/registry';
import { expect, test } from './fixtures';
import { ComparePage, MODEL_HOST } from './pages/compare';

const APP = 'http://127.0.0.1:4173';
const CSP_REPORTS = `${APP}/__csp-reports`;

/** Every URL the model host may legitimately be asked for: the presets' files in the hub layout. */
function hubFileUrls(): Set<string> {
  const urls = new Set<string>();
  for (const p of MODEL_PRESETS) {
    for (const f of [p.encoder, p.decoder]) {
      urls.add(hubUrl(MODEL_HOST, p.repo, p.revision, f.path));
      for (const x of f.externalData ?? []) urls.add(hubUrl(MODEL_HOST, p.repo, p.revision, x.path));
    }
  }
  return urls;
}

test('the production server sends COOP, COEP and the CSP on every response, and the page is cross-origin isolated', async ({
  page,
  request,
}) => {
  const res = await page.goto('/?sample=0');
  const h = res?.headers() ?? {};
  expect(h['cross-origin-opener-policy']).toBe('same-origin');
  expect(h['cross-origin-embedder-policy']).toMatch(/^(require-corp|credentialless)$/);
  const csp = (h['content-security-policy'] ?? '').split(';').map((d) => d.trim());
  expect(csp).toEqual(
    expect.arrayContaining([
      "default-src 'self'",
      "script-src 'self' 'wasm-unsafe-eval'",
      "worker-src 'self' blob:",
      `connect-src 'self' ${MODEL_HOST}`,
      "object-src 'none'",
      "frame-ancestors 'none'",
    ]),
  );
  expect(h['x-content-type-options']).toBe('nosniff');
  expect(h['referrer-policy']).toBe('no-referrer');
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  // Scripts, the worker and the WebAssembly runtime come with the same headers.
  const assets = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .map((e) => e.name)
      .filter((n) => /\.(js|mjs)$/.test(new URL(n).pathname)),
  );
  expect(assets.length).toBeGreaterThan(0);
  for (const a of assets.slice(0, 5)) {
    const r = await request.get(a);
    expect(r.headers()['cross-origin-embedder-policy'], a).toMatch(/^(require-corp|credentialless)$/);
    expect(r.headers()['cross-origin-resource-policy'], a).toBe('same-origin');
  }
});

// Plain Playwright test: this one makes violations on purpose, which the shared fixture would fail on.
plain(
  'the CSP is enforced in the page and in workers, and violations reach the report collector',
  async ({ page }) => {
    const before = ((await (await fetch(CSP_REPORTS)).json()) as unknown[]).length;
    await page.goto('/?sample=0');
    const outcome = await page.evaluate(async () => {
      // Outside the DevTools evaluation (which is allowed to compile strings), as page code would run.
      const evalBlocked = await new Promise<boolean>((ok) =>
        setTimeout(() => {
          try {
            // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the point: eval must be refused
            const f = new Function('return 1') as () => number;
            f();
            ok(false);
          } catch (e) {
            ok(e instanceof EvalError);
          }
        }, 0),
      );
      let fetchBlocked = false;
      try {
        await fetch('http://127.0.0.1:4175/index.html');
      } catch {
        fetchBlocked = true;
      }
      // A worker (blob:, as onnxruntime-web may create) inherits the policy: its fetch is refused too.
      const src = `fetch('http://127.0.0.1:4175/from-worker').then(() => postMessage('allowed'), () => postMessage('blocked'));`;
      const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
      const workerResult = await new Promise<string>((ok) => {
        const w = new Worker(url);
        w.onmessage = (e: MessageEvent<string>) => ok(e.data);
        w.onerror = () => ok('error');
      });
      return { evalBlocked, fetchBlocked, workerResult };
    });
    expect(outcome).toEqual({ evalBlocked: true, fetchBlocked: true, workerResult: 'blocked' });
    // The reports arrive asynchronously: the e2e fixture's violation check relies on this path.
    await expect
      .poll(
        async () => {
          const reports = ((await (await fetch(CSP_REPORTS)).json()) as unknown[]).slice(before);
          return JSON.stringify(reports);
        },
        { timeout: 15_000 },
      )
      .toMatch(/4175\/from-worker[\s\S]*|[\s\S]*4175\/from-worker/);
    const reports = JSON.stringify(((await (await fetch(CSP_REPORTS)).json()) as unknown[]).slice(before));
    expect(reports).toContain('connect-src');
    expect(reports).toContain('eval');
  },
);

interface Seen {
  readonly url: string;
  readonly method: string;
  readonly body: number;
  readonly frame: string;
}

function record(page: Page): Seen[] {
  const seen: Seen[] = [];
  const on = (r: Request) =>
    seen.push({
      url: r.url(),
      method: r.method(),
      body: r.postDataBuffer()?.length ?? 0,
      frame: r.frame() === page.mainFrame() ? 'page' : 'worker',
    });
  page.context().on('request', on);
  return seen;
}

test('a full session (sample study, both models from the model host, prompts, a small batch) talks only to the app and the model host, and sends no data', async ({
  page,
}) => {
  test.setTimeout(300_000);
  const seen = record(page);
  const app = new ComparePage(page);
  await app.open();
  await app.waitForStudy();
  // Real-preset URLs, served with fixture bytes by the model host (labelled as fixtures in the UI).
  await app.loadPreset('sam', 'sam-vit-b-int8');
  await app.loadPreset('sam2', 'sam2.1-tiny-q8');
  await app.clickPixel(100, 100);
  await app.waitForResults();
  await page.getByTestId('tab-batch').click();
  await page.getByTestId('batch-folder-input').setInputFiles('test-data/hc18-fetal-head-us');
  await expect(page.getByTestId('batch-total')).toContainText(/units/);
  await page.getByTestId('batch-maxn').fill('1');
  await page.getByTestId('batch-run').click();
  await expect(page.getByTestId('batch-status')).toContainText('Finished', { timeout: 180_000 });

  const allowedModelUrls = hubFileUrls();
  const offenders: string[] = [];
  for (const r of seen) {
    if (r.url.startsWith('data:') || r.url.startsWith('blob:')) continue;
    const u = new URL(r.url);
    if (u.origin === APP) {
      if (r.method !== 'GET' || r.body > 0) offenders.push(`${r.method} ${r.url} (${r.body} bytes)`);
    } else if (u.origin === MODEL_HOST) {
      if (r.method !== 'GET' || r.body > 0) offenders.push(`${r.method} ${r.url} (${r.body} bytes)`);
      else if (!allowedModelUrls.has(r.url)) offenders.push(`not a model file: ${r.url}`);
    } else offenders.push(`other origin: ${r.method} ${r.url}`);
  }
  expect(offenders).toEqual([]);
  // The recorder is not blind: it saw the model downloads and the workers' runtime (WebAssembly) fetches.
  expect(seen.filter((r) => r.url.startsWith(MODEL_HOST)).length).toBeGreaterThanOrEqual(4);
  expect(seen.some((r) => /ort.*\.wasm$/.test(new URL(r.url).pathname))).toBe(true);
  // No query string carries anything but configuration (the model host).
  for (const r of seen.filter((x) => x.url.startsWith(APP))) {
    const keys = [...new URL(r.url).searchParams.keys()];
    for (const k of keys) expect(['modelHost', 'sample', 'v', 'import', 'worker_file', 'type']).toContain(k);
  }
});

interface StorageSnapshot {
  readonly caches: Record<string, string[]>;
  readonly databases: Record<string, Record<string, number>>;
  readonly opfs: string[];
  readonly local: Record<string, string>;
  readonly session: number;
}

async function storage(page: Page): Promise<StorageSnapshot> {
  return page.evaluate(async () => {
    const cacheOut: Record<string, string[]> = {};
    for (const name of await caches.keys()) {
      cacheOut[name] = (await (await caches.open(name)).keys()).map((r) => r.url);
    }
    const dbOut: Record<string, Record<string, number>> = {};
    for (const info of await indexedDB.databases()) {
      if (!info.name) continue;
      const name = info.name;
      const db = await new Promise<IDBDatabase>((ok, fail) => {
        const r = indexedDB.open(name);
        r.onsuccess = () => ok(r.result);
        r.onerror = () => fail(new Error(String(r.error)));
      });
      const counts: Record<string, number> = {};
      for (const store of Array.from(db.objectStoreNames)) {
        counts[store] = await new Promise<number>((ok, fail) => {
          const c = db.transaction(store, 'readonly').objectStore(store).count();
          c.onsuccess = () => ok(c.result);
          c.onerror = () => fail(new Error(String(c.error)));
        });
      }
      db.close();
      dbOut[name] = counts;
    }
    const opfs: string[] = [];
    const root = await navigator.storage.getDirectory();
    for await (const k of (root as unknown as { keys: () => AsyncIterable<string> }).keys()) opfs.push(k);
    const local: Record<string, string> = {};
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k !== null) local[k] = localStorage.getItem(k) ?? '';
    }
    return { caches: cacheOut, databases: dbOut, opfs, local, session: sessionStorage.length };
  });
}

test('"Clear session" leaves no pixel-derived data at rest: only the kept models and configuration remain', async ({
  page,
}) => {
  test.setTimeout(300_000);
  const app = new ComparePage(page);
  await app.open('sample=0');
  await app.loadPreset('sam', 'sam-vit-b-int8');
  await app.loadPreset('sam2', 'sam2.1-tiny-q8');
  // Persisted batch results (IndexedDB) from a small run.
  await page.getByTestId('tab-batch').click();
  await page.getByTestId('batch-folder-input').setInputFiles('test-data/hc18-fetal-head-us');
  await page.getByTestId('batch-maxn').fill('1');
  await page.getByTestId('batch-run').click();
  await expect(page.getByTestId('batch-status')).toContainText('Finished', { timeout: 180_000 });
  // What other code paths or a future version might leave: an OPFS file, a stray key, session state.
  await page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const f = await root.getFileHandle('scratch-slice.raw', { create: true });
    const w = await f.createWritable();
    await w.write(new Uint8Array([1, 2, 3]));
    await w.close();
    await (
      await root.getDirectoryHandle('exports', { create: true })
    ).getFileHandle('x.csv', { create: true });
    localStorage.setItem('sam-compare.last-study', 'Study 1.2.826.0.1.3680043.2.1125.1');
    sessionStorage.setItem('sam-compare.view', 'slice 12');
    await caches.open('sam-compare-scratch').then((c) => c.put('/scratch', new Response('pixels')));
  });
  const before = await storage(page);
  const records = Object.values(before.databases).flatMap((d) => Object.values(d));
  expect(records.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  expect(before.opfs.sort()).toEqual(['exports', 'scratch-slice.raw']);
  expect(Object.keys(before.caches)).toEqual(
    expect.arrayContaining(['sam-compare-models-v1', 'sam-compare-scratch']),
  );

  await page.getByTestId('clear-session').click();
  await expect(page.getByTestId('clear-keep-models')).toBeChecked();
  // Clearing ends in a reload: wait for it, so no check runs against the page being replaced.
  await Promise.all([page.waitForEvent('load'), page.getByTestId('clear-confirm').click()]);
  await expect(page.getByTestId('toast-info').last()).toContainText('Session cleared', { timeout: 30_000 });
  await expect(page).not.toHaveURL(/cleared=/);

  const after = await storage(page);
  expect(Object.keys(after.caches)).toEqual(['sam-compare-models-v1']);
  const hub = hubFileUrls();
  const kept = after.caches['sam-compare-models-v1'] ?? [];
  expect(kept.length).toBeGreaterThanOrEqual(4);
  for (const url of kept) expect(hub.has(url), url).toBe(true);
  for (const [db, stores] of Object.entries(after.databases))
    for (const [store, n] of Object.entries(stores)) expect(n, `${db}/${store}`).toBe(0);
  expect(after.opfs).toEqual([]);
  // Only configuration remains: the model host, and what libraries write again at start-up (Cornerstone's
  // probe of the GPU's texture formats, the log level).
  // (The model host here came from the URL, which the reload keeps.)
  await expect(page).toHaveURL(new RegExp(`modelHost=${encodeURIComponent(MODEL_HOST)}`));
  for (const k of Object.keys(after.local))
    expect(['sam-compare.model-host', 'cornerstone3D.renderingCapabilities', 'loglevel']).toContain(k);
  expect(after.session).toBe(0);
  // No key or value anywhere names a DICOM UID.
  expect(JSON.stringify(after)).not.toMatch(/1\.2\.826\.|1\.2\.840\./);

  // The app still works, and the kept models load from the cache without a download.
  await app.loadPreset('sam', 'sam-vit-b-int8');
  await page.getByTestId('model-info-sam').locator('summary').click();
  await expect(page.getByTestId('model-info-sam')).toContainText('(cached)');

  // Without "keep models", the model cache goes too.
  await page.getByTestId('clear-session').click();
  await page.getByTestId('clear-keep-models').uncheck();
  // Clearing ends in a reload: wait for it, so no check runs against the page being replaced.
  await Promise.all([page.waitForEvent('load'), page.getByTestId('clear-confirm').click()]);
  await expect(page.getByTestId('toast-info').last()).toContainText('Session cleared', { timeout: 30_000 });
  expect((await storage(page)).caches).toEqual({});
});
