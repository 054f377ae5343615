/**
 * `npm run bench`: the app's real costs on this machine, side by side with the same engine bare in Node
 * and with native onnxruntime-node (installed on first use into bench/.native, see ./native-ort.ts).
 * Writes bench/results/latest.json (schema: bench/README.md) and bench/results/latest.md. Not part of
 * `npm test`: timings are never asserted, only reported.
 *
 *   npm run bench [-- --repeats 3 --quick --no-build --no-native]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Page } from '@playwright/test';
import * as ortw from 'onnxruntime-web';
import { fixturePair, type FixtureContract } from '../tools/fixtures/sam-fixtures';
import { decoderCalls, encoderFeeds, CONTRACTS, type ContractId } from '../src/core/models';
import { centreClick, promptPoint, rngFor } from '../src/core/prompts';
import { DEFAULT_PROTOCOL } from '../src/core/prompts/protocol';
import type { TensorData } from '../src/core/tensor';
import { twoShapeScene } from '../src/core/testing/synthetic';
import { assembleStudy } from '../src/core/io/study';
import { IDENTITY3, type Volume } from '../src/core/image/types';
import { runBatch, type CaseSource } from '../src/batch/runner';
import { LocalInference } from '../src/runtime/local-inference';
import { loadNativeOrt, type NativeOrt, type OrtLike } from './native-ort';
import { hieraTShapeEncoder, vitBShapeEncoder } from './shape-models';

const args = process.argv.slice(2);
const flag = (n: string) => args.includes(`--${n}`);
const opt = (n: string, d: string) => {
  const i = args.indexOf(`--${n}`);
  return i >= 0 ? (args[i + 1] ?? d) : d;
};
const REPEATS = Number(opt('repeats', process.env['BENCH_REPEATS'] ?? '3'));
const QUICK = flag('quick');
const THREADS = cpus().length;
/**
 * Warm-up before timing decodes and clicks: a fresh worker runs onnxruntime's wasm on V8's baseline
 * code for about 10 s while it optimises it in the background (decodes up to 3× slower here). In the
 * app a user's first click comes after an encode of 7–25 s, so the steady state is what is compared.
 */
const WARMUP_MS = QUICK ? 3_000 : 15_000;
const PORT = 4180;
const BASE = `http://127.0.0.1:${PORT}`;
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

interface Figure {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
  readonly unit: string;
}
const fig = (xs: readonly number[], unit: string): Figure => {
  const s = [...xs].sort((a, b) => a - b);
  const mid =
    s.length % 2
      ? (s[(s.length - 1) / 2] ?? NaN)
      : ((s[s.length / 2 - 1] ?? NaN) + (s[s.length / 2] ?? NaN)) / 2;
  return { median: mid, min: s[0] ?? NaN, max: s.at(-1) ?? NaN, n: s.length, unit };
};
const pct = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (p / 100) * (s.length - 1);
  const lo = Math.floor(r);
  return (s[lo] ?? NaN) + ((s[Math.min(s.length - 1, lo + 1)] ?? NaN) - (s[lo] ?? NaN)) * (r - lo);
};
const log = (m: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);

// ---- Node: the same engine bare (onnxruntime-web wasm) and native onnxruntime-node -------------------

function tensor(ort: OrtLike, t: TensorData) {
  if (t.type === 'int64') return new ort.Tensor('int64', t.data, [...t.dims]);
  if (t.type === 'float32') return new ort.Tensor('float32', t.data, [...t.dims]);
  throw new Error(`bench: unexpected ${t.type}`);
}

async function encoderTimes(
  ort: OrtLike,
  bytes: Uint8Array,
  contract: ContractId,
  threads: number,
  warmups: number,
  repeats: number,
  native: boolean,
): Promise<{ createMs: number; runs: number[]; peakRssMb: number }> {
  if (!native) ort.env.wasm.numThreads = threads;
  const t0 = performance.now();
  const s = await ort.InferenceSession.create(
    bytes,
    native ? { intraOpNumThreads: threads } : { executionProviders: ['wasm'], graphOptimizationLevel: 'all' },
  );
  const createMs = performance.now() - t0;
  const scene = twoShapeScene(512, 512, 'bench');
  const feeds = encoderFeeds(contract, scene.image).feeds;
  const input = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, tensor(ort, v)]));
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const runs: number[] = [];
  for (let i = 0; i < warmups + repeats; i++) {
    const t = performance.now();
    await s.run(input);
    if (i >= warmups) runs.push(performance.now() - t);
    // The run can block this thread (no timer fires during it): sample right after, session still alive.
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  clearInterval(timer);
  await s.release();
  return { createMs, runs, peakRssMb: peak / 2 ** 20 };
}

async function decoderTimes(
  ort: OrtLike,
  contract: FixtureContract,
  threads: number,
  clicks: number,
  native: boolean,
): Promise<number[]> {
  if (!native) ort.env.wasm.numThreads = threads;
  const pair = fixturePair(contract);
  const so = native ? ({ intraOpNumThreads: threads } as object) : { executionProviders: ['wasm'] };
  const enc = await ort.InferenceSession.create(pair.encoder, so);
  const dec = await ort.InferenceSession.create(pair.decoder, so);
  const scene = twoShapeScene(512, 512, 'bench');
  const { feeds, frame } = encoderFeeds(contract, scene.image);
  const out = await enc.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, tensor(ort, v)])));
  const emb = Object.fromEntries(CONTRACTS[contract].embeddingNames.map((n) => [n, out[n]]));
  const c0 = centreClick(scene.masks.disk, rngFor({ seed: 1, caseId: 'b', slice: 0, label: 1 }, 'centre'));
  const times: number[] = [];
  for (let i = 0; i < clicks + 3; i++) {
    const [call] = decoderCalls(
      contract,
      { prompts: [{ points: [promptPoint(c0.x + (i % 7) - 3, c0.y + (i % 5) - 2, 1)] }], frame },
      dec.inputNames,
    );
    if (!call) throw new Error('no call');
    const f = {
      ...emb,
      ...Object.fromEntries(Object.entries(call.feeds).map(([k, v]) => [k, tensor(ort, v)])),
    };
    const t = performance.now();
    await dec.run(f as Record<string, InstanceType<OrtLike['Tensor']>>);
    if (i >= 3) times.push(performance.now() - t);
  }
  await enc.release();
  await dec.release();
  return times;
}

/** Batch throughput on a fixed synthetic dataset, with and without embedding reuse. */
async function batchThroughput(
  hiera: Uint8Array,
  slices: number,
): Promise<{ reuse: number; noReuse: number; units: number }> {
  const w = 256;
  const h = 256;
  const mkStudy = (id: string) => {
    const data = new Uint8Array(w * h * slices);
    const lab = new Uint8Array(w * h * slices);
    for (let k = 0; k < slices; k++) {
      const s = twoShapeScene(w, h, `${id}-${k}`);
      data.set(s.grey, k * w * h);
      s.masks.disk.data.forEach((v, i) => v && (lab[k * w * h + i] = 1));
      s.masks.rect.data.forEach((v, i) => v && (lab[k * w * h + i] = 2));
      s.masks.corner.data.forEach((v, i) => v && (lab[k * w * h + i] = 3));
    }
    const vol = (d: Uint8Array): Volume => ({
      dims: [w, h, slices],
      spacing: [1, 1, 1],
      spacingKnown: true,
      origin: [0, 0, 0],
      direction: IDENTITY3,
      data: d,
      modality: 'OT',
    });
    return assembleStudy(
      { volume: vol(data), format: 'png', notes: [], is8bit: true },
      { volume: vol(lab), format: 'png', notes: [], is8bit: true },
      { name: id, modality: 'OT', gtName: 'l' },
    );
  };
  const cases: CaseSource[] = [{ id: 'synthetic', load: () => Promise.resolve(mkStudy('synthetic')) }];
  const inf = new LocalInference();
  const sam = fixturePair('sam1-meta');
  await inf.load('sam', sam.encoder, sam.decoder);
  await inf.load('sam2', hiera, fixturePair('sam2-samexporter').decoder);
  const models = [
    {
      slot: 'sam' as const,
      id: 'fixture-sam1',
      label: 'fixture',
      contract: 'sam1-meta' as const,
      isFixture: true,
    },
    {
      slot: 'sam2' as const,
      id: 'hiera-shape',
      label: 'Hiera-T shape-equivalent + fixture decoder',
      contract: 'sam2-samexporter' as const,
      isFixture: true,
    },
  ];
  const protocol = { ...DEFAULT_PROTOCOL, strategies: ['centre-random' as const], maxPoints: 5 };
  const sink = () => {
    const m = new Map<string, unknown>();
    return {
      has: (u: string) => Promise.resolve(m.has(u)),
      put: (u: string, r: unknown) => Promise.resolve(void m.set(u, r)),
    };
  };
  const run = async (noEmbeddingReuse: boolean) => {
    const t = performance.now();
    const r = await runBatch(cases, inf, sink(), {
      dataset: 'bench',
      protocol,
      sampling: { kind: 'all' },
      nsdTolerance: 2,
      models,
      noEmbeddingReuse,
    });
    return { units: r.done, perMin: r.done / ((performance.now() - t) / 60_000) };
  };
  const a = await run(false);
  const b = await run(true);
  await inf.close();
  return { reuse: a.perMin, noReuse: b.perMin, units: a.units };
}

// ---- Browser --------------------------------------------------------------------------------------

async function inPage<T>(page: Page, fn: string, ...a: unknown[]): Promise<T> {
  return page.evaluate(
    ([f, xs]) =>
      (window as unknown as { bench: Record<string, (...y: unknown[]) => Promise<unknown>> }).bench[f]!(
        ...xs,
      ),
    [fn, a] as const,
  ) as Promise<T>;
}

interface EncoderResult {
  createMs: number;
  provider: string;
  threads: number;
  encodeMs: number[];
  longTasks: number[];
  cacheBytes: number;
  memory: {
    bytes?: number;
    breakdown?: { bytes: number; types: string[]; attribution: { scope: string }[] }[];
  } | null;
}

interface ClickTimes {
  clickToOverlay: number[];
  /** Each pane's own click to overlay (the frame after its mask was drawn). */
  pane: { sam: number[]; sam2: number[] };
  roundTrip: { sam: number[]; sam2: number[] };
  showSelected: { sam: number[]; sam2: number[] };
  worker: string;
  /** Clicks with no overlay within 30 s (counted, not timed; the run goes on). */
  timeouts: number;
}

/** Click to overlay in the real UI; `decoderWorkers: true` opts in to decoder workers (A/B). */
async function clickToOverlay(page: Page, clicks: number, decoderWorkers: boolean): Promise<ClickTimes> {
  await page.goto(
    `${BASE}/index.html?modelHost=${encodeURIComponent(BASE)}${decoderWorkers ? '&decoderWorkers=1' : ''}`,
  );
  await page.getByTestId('study-info').waitFor({ timeout: 60_000 });
  for (const [slot, preset] of [
    ['sam', 'fixture-sam1-meta'],
    ['sam2', 'fixture-hf-sam2'],
  ] as const) {
    await page.getByTestId(`preset-${slot}`).selectOption(preset);
    await page.getByTestId(`load-${slot}`).click();
    await page.getByTestId(`model-info-${slot}`).waitFor({ timeout: 60_000 });
  }
  await page.waitForFunction(
    () =>
      document.querySelector('[data-testid=status-sam]')?.textContent === '' &&
      document.querySelector('[data-testid=status-sam2]')?.textContent === '',
  );
  const box = await page.getByTestId('viewport-sam').boundingBox();
  if (!box) throw new Error('no viewport');
  // No named helpers inside the page function: tsx would wrap them in a `__name` the page lacks.
  const names = [
    'click-to-overlay',
    'click-to-overlay:sam',
    'click-to-overlay:sam2',
    'decode-round-trip:sam',
    'decode-round-trip:sam2',
    'show-selected:sam',
    'show-selected:sam2',
  ];
  let timeouts = 0;
  let skip: number[] = [];
  const t0 = Date.now();
  for (let i = 0, measured = 0; measured < clicks; i++) {
    // Warm-up clicks (at least 3 and WARMUP_MS) are made the same way but not counted.
    const warming = i < 3 || Date.now() - t0 < WARMUP_MS;
    if (!warming && measured === 0)
      skip = await page.evaluate((ns) => ns.map((n) => performance.getEntriesByName(n).length), names);
    if (!warming) measured++;
    const before = await page.evaluate(() => performance.getEntriesByName('click-to-overlay').length);
    // Alternate one click and clear so every click decodes a fresh single-point prompt.
    await page.keyboard.press('c');
    await page.mouse.click(
      box.x + box.width * (0.3 + 0.01 * (i % 10)),
      box.y + box.height * (0.45 + 0.01 * (i % 7)),
    );
    try {
      await page.waitForFunction((n) => performance.getEntriesByName('click-to-overlay').length > n, before, {
        timeout: 30_000,
      });
    } catch (e) {
      if (!(e instanceof Error && e.name === 'TimeoutError')) throw e;
      timeouts++;
      log(`click ${i}: no overlay within 30 s`);
    }
  }
  const worker = (await page.getByTestId('decode-sam').getAttribute('data-worker')) ?? 'unknown';
  const [c, ps, ps2, rs, rs2, ss, ss2] = (
    await page.evaluate((ns) => ns.map((n) => performance.getEntriesByName(n).map((e) => e.duration)), names)
  ).map((xs, k) => xs.slice(skip[k] ?? 0));
  const times = {
    clickToOverlay: c ?? [],
    pane: { sam: ps ?? [], sam2: ps2 ?? [] },
    roundTrip: { sam: rs ?? [], sam2: rs2 ?? [] },
    showSelected: { sam: ss ?? [], sam2: ss2 ?? [] },
  };
  return { ...times, worker, timeouts };
}

// ---- Bundle ---------------------------------------------------------------------------------------

function bundle(): {
  initialJsKbGzip: number;
  initialFiles: string[];
  plotlyInInitial: boolean;
  ortWasmInInitial: boolean;
  viewerChunkKbGzip: number;
  ortWasmKbGzip: number;
} {
  const html = readFileSync('dist/index.html', 'utf8');
  const files = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+\.js)"/g)].map((m) => m[1] ?? '');
  const gz = (f: string) => gzipSync(readFileSync(join('dist', f))).length / 1024;
  const initial = files.reduce((a, f) => a + gz(f), 0);
  const text = files.map((f) => readFileSync(join('dist', f), 'utf8')).join('\n');
  const assets = readdirSync('dist/assets');
  const viewer = assets.find((f) => /^controller-.*\.js$/.test(f));
  const wasm = assets.find((f) => /^ort-wasm.*\.wasm$/.test(f));
  return {
    initialJsKbGzip: initial,
    initialFiles: files,
    plotlyInInitial: /plotly/i.test(files.join(' ')) || text.includes('Plotly.newPlot'),
    ortWasmInInitial: files.some((f) => f.includes('ort-wasm')),
    viewerChunkKbGzip: viewer ? gz(`assets/${viewer}`) : 0,
    ortWasmKbGzip: wasm ? gzipSync(readFileSync(`dist/assets/${wasm}`)).length / 1024 : 0,
  };
}

// ---- Main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  // First, so that a first-use install (or its failure) shows up before the long browser part.
  const native: NativeOrt = flag('no-native')
    ? { ok: false, reason: 'skipped (--no-native)' }
    : await loadNativeOrt(log);
  const ortn = native.ok ? native.ort : null;
  log(
    native.ok
      ? `native onnxruntime-node ${native.version}`
      : `native onnxruntime-node unavailable, its figures will be reported as such: ${native.reason}`,
  );
  if (!flag('no-build')) {
    log('building the production app');
    execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  log('generating shape-equivalent encoders');
  const vitb = vitBShapeEncoder();
  const hiera = hieraTShapeEncoder();
  mkdirSync('dist/bench-models', { recursive: true });
  writeFileSync('dist/bench-models/vitb.onnx', vitb.bytes);
  writeFileSync('dist/bench-models/hiera.onnx', hiera.bytes);

  const results: Record<string, unknown> = {};
  const node: Record<string, unknown> = {};
  const R = QUICK ? 1 : REPEATS;
  const encoders = [
    {
      id: 'vitb',
      label: 'SAM ViT-B image encoder (shape-equivalent)',
      bytes: vitb.bytes,
      gmac: vitb.gmac,
      contract: 'sam1-meta' as const,
      decoder: 'fixtures/sam1-meta/decoder.onnx',
    },
    {
      id: 'hiera',
      label: 'SAM 2 Hiera-tiny image encoder (shape-equivalent)',
      bytes: hiera.bytes,
      gmac: hiera.gmac,
      contract: 'sam2-samexporter' as const,
      decoder: 'fixtures/sam2-samexporter/decoder.onnx',
    },
  ];

  // Browser first (the machine is otherwise idle), then Node.
  log('starting the static server and Chromium');
  // Its own process group, so that killing it also stops the server that npx starts.
  const server: ChildProcess = spawn(
    'npx',
    ['tsx', 'tools/static-server.ts', '--port', String(PORT), '--dir', 'dist', '--isolate'],
    { stdio: 'ignore', detached: true },
  );
  server.on('exit', (code, signal) => {
    log(`static server exited (${String(code ?? signal)})`);
  });
  const stopServer = () => {
    if (server.pid === undefined) return;
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch (e) {
      // Already gone: the browser part is over, so the figures stand; say so and go on.
      log(`static server had already stopped (${e instanceof Error ? e.message : String(e)})`);
    }
  };
  await new Promise((r) => setTimeout(r, 2500));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--enable-unsafe-webgpu',
      '--enable-features=SharedArrayBuffer',
    ],
  });
  const browserVersion = browser.version();
  const page = await browser.newPage();
  await page.goto(`${BASE}/bench.html`);
  await page.waitForFunction(() => document.body.dataset['ready'] === 'true');
  const adapter = await inPage<{ name: string; fallback: boolean } | null>(page, 'adapter');
  const softwareGpu = !adapter || adapter.fallback || /swiftshader|llvmpipe|software/i.test(adapter.name);
  const browserEnc: Record<string, unknown> = {};
  for (const e of encoders) {
    for (const threads of [THREADS, 1]) {
      if (QUICK && threads === 1) continue;
      log(`browser ${e.id} wasm ${threads} thread(s)`);
      const r = await inPage<EncoderResult>(
        page,
        'encoder',
        `${BASE}/bench-models/${e.id}.onnx`,
        `${BASE}/${e.decoder}`,
        threads,
        'wasm',
        R,
      );
      browserEnc[`${e.id}-wasm-${threads}t`] = {
        encode: fig(r.encodeMs, 'ms'),
        createMs: r.createMs,
        longTasks: { count: r.longTasks.length, longestMs: Math.max(0, ...r.longTasks) },
        cacheBytes: r.cacheBytes,
        memory: r.memory,
      };
    }
    if (!softwareGpu) {
      log(`browser ${e.id} webgpu`);
      const r = await inPage<EncoderResult>(
        page,
        'encoder',
        `${BASE}/bench-models/${e.id}.onnx`,
        `${BASE}/${e.decoder}`,
        THREADS,
        'webgpu',
        R,
      );
      browserEnc[`${e.id}-webgpu`] = {
        encode: fig(r.encodeMs, 'ms'),
        createMs: r.createMs,
        adapter: adapter.name,
      };
    }
  }
  results['browserEncoders'] = browserEnc;
  const decoders: FixtureContract[] = ['sam1-meta', 'sam2-samexporter', 'hf-sam', 'hf-sam2'];
  const clicks = QUICK ? 20 : 50;
  const browserDec: Record<string, unknown> = {};
  type DecTimes = {
    decodeMs: number[];
    roundTripMs: number[];
    postprocessMs: number[];
    warmDecodeMs: number[];
    worker: string;
  };
  for (const c of decoders) {
    log(`browser decoder ${c}`);
    // As the app ships: in the inference worker, on its all-threads pool.
    const r = await inPage<DecTimes>(
      page,
      'decoder',
      `${BASE}/fixtures/${c}/encoder.onnx`,
      `${BASE}/fixtures/${c}/decoder.onnx`,
      THREADS,
      clicks,
      'wasm',
      false,
      WARMUP_MS,
    );
    // Opt-in (`?decoderWorkers=1`): the slot's one-thread decoder worker beside the encoder's pool.
    const dw = await inPage<DecTimes>(
      page,
      'decoder',
      `${BASE}/fixtures/${c}/encoder.onnx`,
      `${BASE}/fixtures/${c}/decoder.onnx`,
      THREADS,
      clicks,
      'wasm',
      true,
      WARMUP_MS,
    );
    browserDec[c] = {
      p50: pct(r.decodeMs, 50),
      p95: pct(r.decodeMs, 95),
      roundTripP50: pct(r.roundTripMs, 50),
      postprocessP50: pct(r.postprocessMs, 50),
      worker: r.worker,
      n: r.decodeMs.length,
      warmup: { calls: r.warmDecodeMs.length, p50: pct(r.warmDecodeMs, 50) },
      decoderWorker: {
        p50: pct(dw.decodeMs, 50),
        p95: pct(dw.decodeMs, 95),
        roundTripP50: pct(dw.roundTripMs, 50),
        postprocessP50: pct(dw.postprocessMs, 50),
        worker: dw.worker,
      },
    };
    if (!softwareGpu) {
      log(`browser decoder ${c} webgpu`);
      const g = await inPage<{ decodeMs: number[]; roundTripMs: number[] }>(
        page,
        'decoder',
        `${BASE}/fixtures/${c}/encoder.onnx`,
        `${BASE}/fixtures/${c}/decoder.onnx`,
        THREADS,
        clicks,
        'webgpu',
        true,
        WARMUP_MS,
      );
      browserDec[`${c}-webgpu`] = {
        p50: pct(g.decodeMs, 50),
        p95: pct(g.decodeMs, 95),
        n: g.decodeMs.length,
      };
    }
  }
  results['browserDecoders'] = browserDec;
  log('session creation, cold and warm');
  const cold = await inPage<{ fromCache: boolean; createMs: number; totalMs: number }>(
    page,
    'sessionCreate',
    `${BASE}/bench-models/vitb.onnx`,
    `${BASE}/fixtures/sam1-meta/decoder.onnx`,
    THREADS,
    false,
  );
  await page.reload();
  await page.waitForFunction(() => document.body.dataset['ready'] === 'true');
  const warm = await inPage<{ fromCache: boolean; createMs: number; totalMs: number }>(
    page,
    'sessionCreate',
    `${BASE}/bench-models/vitb.onnx`,
    `${BASE}/fixtures/sam1-meta/decoder.onnx`,
    THREADS,
    true,
  );
  results['sessionCreate'] = { model: 'vitb shape-equivalent + sam1 fixture decoder', cold, warm };
  log('click to overlay in the real UI');
  const summary = (t: ClickTimes) => ({
    p50: pct(t.clickToOverlay, 50),
    p95: pct(t.clickToOverlay, 95),
    n: t.clickToOverlay.length,
    timeouts: t.timeouts,
    worker: t.worker,
    paneP50: { sam: pct(t.pane.sam, 50), sam2: pct(t.pane.sam2, 50) },
    paneP95: { sam: pct(t.pane.sam, 95), sam2: pct(t.pane.sam2, 95) },
    roundTripP50: { sam: pct(t.roundTrip.sam, 50), sam2: pct(t.roundTrip.sam2, 50) },
    showSelectedP50: { sam: pct(t.showSelected.sam, 50), sam2: pct(t.showSelected.sam2, 50) },
  });
  // The app as shipped, then (A/B, same run) with decoder workers opted in.
  const c2o = await clickToOverlay(page, QUICK ? 10 : 30, false);
  const c2oDw = await clickToOverlay(page, QUICK ? 10 : 30, true);
  results['clickToOverlay'] = {
    ...summary(c2o),
    models: 'fixtures sam1-meta + hf-sam2, both panes',
    decoderWorkers: summary(c2oDw),
  };
  await browser.close();
  stopServer();

  for (const e of encoders) {
    log(`node wasm ${e.id} ${THREADS} threads`);
    const w = await encoderTimes(ortw, e.bytes, e.contract, THREADS, 1, R, false);
    if (ortn) log(`native ${e.id} ${THREADS} threads`);
    const n = ortn ? await encoderTimes(ortn, e.bytes, e.contract, THREADS, 2, R, true) : null;
    node[e.id] = {
      wasm: { encode: fig(w.runs, 'ms'), createMs: w.createMs, peakRssMb: w.peakRssMb },
      native: n && { encode: fig(n.runs, 'ms'), createMs: n.createMs, peakRssMb: n.peakRssMb },
      gmac: e.gmac,
    };
  }
  const nodeDec: Record<string, unknown> = {};
  for (const c of decoders) {
    log(`node decoder ${c}`);
    const w = await decoderTimes(ortw, c, THREADS, clicks, false);
    const n = ortn ? await decoderTimes(ortn, c, THREADS, clicks, true) : null;
    nodeDec[c] = {
      wasm: { p50: pct(w, 50), p95: pct(w, 95) },
      native: n && { p50: pct(n, 50), p95: pct(n, 95) },
    };
  }
  results['node'] = node;
  results['nodeDecoders'] = nodeDec;
  log('batch throughput');
  results['batch'] = await batchThroughput(hiera.bytes, QUICK ? 1 : 2);
  results['bundle'] = bundle();

  // ---- targets ----
  const med = (o: unknown, ...path: string[]) => {
    let x: unknown = o;
    for (const p of path) x = (x as Record<string, unknown> | undefined)?.[p];
    return typeof x === 'number' ? x : ((x as Figure | undefined)?.median ?? NaN);
  };
  const bEnc = (id: string) => med(browserEnc, `${id}-wasm-${THREADS}t`, 'encode');
  const decWorst = Math.max(
    ...decoders.map((c) => med(browserDec, c, 'p50') / med(nodeDec, c, 'native', 'p50')),
  );
  const decP50 = Math.max(
    ...decoders.filter((c) => c === 'sam1-meta' || c === 'hf-sam2').map((c) => med(browserDec, c, 'p50')),
  );
  const longest = Math.max(
    ...encoders.map((e) => med(browserEnc, `${e.id}-wasm-${THREADS}t`, 'longTasks', 'longestMs')),
  );
  const b = results['batch'] as { reuse: number; noReuse: number };
  const bundleR = results['bundle'] as { initialJsKbGzip: number };
  // A value that could not be measured (e.g. no native reference: NaN) is null, and so is its `met`.
  const target = (id: string, value: number, limit: number | null, unit: string, cmp: 'le' | 'ge' = 'le') => {
    const v = Number.isFinite(value) ? value : null;
    return {
      id,
      value: v,
      limit,
      unit,
      met: limit === null || v === null ? null : cmp === 'le' ? v <= limit : v >= limit,
    };
  };
  const targets = [
    target('encoder-vitb-ratio', bEnc('vitb') / med(node, 'vitb', 'wasm', 'encode'), 1.15, 'x'),
    target('encoder-hiera-ratio', bEnc('hiera') / med(node, 'hiera', 'wasm', 'encode'), 1.15, 'x'),
    target('encoder-vitb-native-ratio', bEnc('vitb') / med(node, 'vitb', 'native', 'encode'), null, 'x'),
    target('encoder-hiera-native-ratio', bEnc('hiera') / med(node, 'hiera', 'native', 'encode'), null, 'x'),
    target('decoder-p50-ratio', decWorst, 2, 'x'),
    target('click-to-overlay-ms', med(results, 'clickToOverlay', 'p50'), decP50 + 16, 'ms'),
    target('reuse-speedup', b.reuse / b.noReuse, 4, 'x', 'ge'),
    target('longest-main-task-ms', longest, 50, 'ms'),
    target('initial-js-kb', bundleR.initialJsKbGzip, 600, 'kB gzip'),
  ];
  const out = {
    schema: 'sam-compare-bench/1',
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: THREADS,
      memoryGb: totalmem() / 2 ** 30,
      node: process.version,
      browser: `Chromium ${browserVersion}`,
      webgpuAdapter: adapter,
      threads: THREADS,
      repeats: R,
      quick: QUICK,
      warmupSec: WARMUP_MS / 1000,
    },
    notes:
      `Encoders are shape-equivalent (layer structure and FLOPs of the real ones, random tiled weights): cost only, not SAM. Decoders and click latency use the contract fixtures and are timed after ${WARMUP_MS / 1000} s of the same decodes or clicks, uncounted (V8 optimises onnxruntime's wasm in the background for about 10 s after a worker starts).` +
      (native.ok
        ? ` Native reference: onnxruntime-node ${native.version} (CPU).`
        : ` Native onnxruntime-node unavailable (${native.reason}): its figures are null.`),
    ...results,
    targets,
    durationSec: (Date.now() - started) / 1000,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.json', JSON.stringify(out, null, 2) + '\n');
  writeFileSync('bench/results/latest.md', markdown(out));
  log(`done in ${Math.round(out.durationSec)} s → bench/results/latest.{json,md}`);
}

function markdown(o: Record<string, unknown>): string {
  const m = o['machine'] as Record<string, unknown>;
  const f = (x: unknown) => {
    const v = x as Figure | undefined;
    return v && Number.isFinite(v.median)
      ? `${(v.median / 1000).toFixed(2)} s (${(v.min / 1000).toFixed(2)}–${(v.max / 1000).toFixed(2)})`
      : '—';
  };
  const bEnc = o['browserEncoders'] as Record<
    string,
    { encode: Figure; createMs: number; longTasks?: { count: number; longestMs: number } }
  >;
  const node = o['node'] as Record<
    string,
    { wasm: { encode: Figure; peakRssMb: number }; native: { encode: Figure } | null; gmac: number }
  >;
  const lines = [
    '# Benchmark results',
    '',
    `${String(o['date'])} · ${String(m['cpu'])} · ${String(m['cores'])} cores · ${String(m['browser'])} · Node ${String(m['node'])} · repeats ${String(m['repeats'])}`,
    '',
    String(o['notes']),
    '',
    '## Encoders (median and min–max)',
    '',
    '| encoder | GMAC | browser wasm, all threads | browser wasm, 1 thread | Node wasm (same engine) | native onnxruntime-node | browser WebGPU |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const id of ['vitb', 'hiera']) {
    const n = node[id];
    lines.push(
      `| ${id === 'vitb' ? 'SAM ViT-B shape' : 'SAM 2 Hiera-T shape'} | ${n ? n.gmac.toFixed(0) : '—'} | ${f(bEnc[`${id}-wasm-${String(m['threads'])}t`]?.encode)} | ${f(bEnc[`${id}-wasm-1t`]?.encode)} | ${f(n?.wasm.encode)} | ${f(n?.native?.encode)} | ${f(bEnc[`${id}-webgpu`]?.encode)} |`,
    );
  }
  const dec = o['browserDecoders'] as Record<
    string,
    { p50: number; p95: number; postprocessP50?: number; decoderWorker?: { p50: number; p95: number } }
  >;
  const nd = o['nodeDecoders'] as Record<
    string,
    { wasm: { p50: number; p95: number }; native: { p50: number; p95: number } | null }
  >;
  lines.push(
    '',
    '## Decoder latency per click (fixtures; p50 / p95 ms)',
    '',
    '| contract | browser, inference worker (all threads) | + post-processing p50 | browser, decoder worker (1 thread, opt-in) | Node wasm | native |',
    '|---|---|---|---|---|---|',
  );
  const pp = (x: { p50: number; p95: number } | null | undefined) =>
    x ? `${x.p50.toFixed(1)} / ${x.p95.toFixed(1)}` : '—';
  for (const c of Object.keys(dec))
    lines.push(
      `| ${c} | ${pp(dec[c])} | ${dec[c]?.postprocessP50?.toFixed(1) ?? '—'} | ${pp(dec[c]?.decoderWorker)} | ${pp(nd[c]?.wasm)} | ${pp(nd[c]?.native)} |`,
    );
  const sc = o['sessionCreate'] as {
    cold: { createMs: number; totalMs: number };
    warm: { createMs: number; totalMs: number; fromCache: boolean };
  };
  interface C2o {
    p50: number;
    p95: number;
    n: number;
    timeouts?: number;
    paneP50?: { sam: number; sam2: number };
    paneP95?: { sam: number; sam2: number };
    roundTripP50?: { sam: number; sam2: number };
    showSelectedP50?: { sam: number; sam2: number };
  }
  const c2o = o['clickToOverlay'] as C2o & { decoderWorkers?: C2o };
  const parts = (c: C2o | undefined) =>
    (c?.paneP50 && c.paneP95
      ? `; each pane on its own: SAM p50 ${c.paneP50.sam.toFixed(1)} ms (p95 ${c.paneP95.sam.toFixed(0)}), SAM 2 p50 ${c.paneP50.sam2.toFixed(1)} ms (p95 ${c.paneP95.sam2.toFixed(0)})`
      : '') +
    (c?.roundTripP50 && c.showSelectedP50
      ? `; decode round trip p50 SAM ${c.roundTripP50.sam.toFixed(0)} ms, SAM 2 ${c.roundTripP50.sam2.toFixed(0)} ms; select + draw p50 ${c.showSelectedP50.sam.toFixed(0)} / ${c.showSelectedP50.sam2.toFixed(0)} ms`
      : '');
  const batch = o['batch'] as { reuse: number; noReuse: number; units: number };
  const bundle = o['bundle'] as {
    initialJsKbGzip: number;
    viewerChunkKbGzip: number;
    plotlyInInitial: boolean;
    ortWasmInInitial: boolean;
    ortWasmKbGzip: number;
  };
  const vitbT = bEnc[`vitb-wasm-${String(m['threads'])}t`];
  lines.push(
    '',
    '## App',
    '',
    `- Session creation (ViT-B shape + decoder): cold ${sc.cold.totalMs.toFixed(0)} ms (create ${sc.cold.createMs.toFixed(0)} ms), warm from Cache Storage ${sc.warm.totalMs.toFixed(0)} ms (create ${sc.warm.createMs.toFixed(0)} ms, from cache: ${String(sc.warm.fromCache)}).`,
    `- Click to overlay in the real UI (both panes, fixtures): p50 ${c2o.p50.toFixed(1)} ms, p95 ${c2o.p95.toFixed(1)} ms over ${c2o.n} clicks${c2o.timeouts ? ` (${c2o.timeouts} more gave no overlay within 30 s)` : ''}${parts(c2o)}.`,
    c2o.decoderWorkers
      ? `- The same with decoder workers (\`?decoderWorkers=1\`): p50 ${c2o.decoderWorkers.p50.toFixed(1)} ms, p95 ${c2o.decoderWorkers.p95.toFixed(1)} ms over ${c2o.decoderWorkers.n} clicks${c2o.decoderWorkers.timeouts ? ` (${c2o.decoderWorkers.timeouts} more gave no overlay within 30 s)` : ''}${parts(c2o.decoderWorkers)}.`
      : '',
    `- Batch throughput (synthetic, 5 prompt counts): ${batch.reuse.toFixed(1)} units/min with embedding reuse, ${batch.noReuse.toFixed(1)} without (${batch.units} units).`,
    `- Main thread during the ViT-B-shape encode: ${vitbT?.longTasks?.count ?? 0} long tasks, longest ${(vitbT?.longTasks?.longestMs ?? 0).toFixed(0)} ms. Node wasm peak RSS ${node['vitb']?.wasm.peakRssMb.toFixed(0) ?? '—'} MB.`,
    `- Bundle: initial JS ${bundle.initialJsKbGzip.toFixed(0)} kB gzip; viewer chunk (Cornerstone3D, loaded at first render) ${bundle.viewerChunkKbGzip.toFixed(0)} kB; ORT wasm ${bundle.ortWasmKbGzip.toFixed(0)} kB gzip, loaded by the worker only (${bundle.ortWasmInInitial ? 'IN' : 'not in'} the initial bundle); plotly ${bundle.plotlyInInitial ? 'IN' : 'not in'} the initial bundle.`,
    '',
    '## Targets',
    '',
    '| id | value | limit | met |',
    '|---|---|---|---|',
  );
  for (const t of o['targets'] as {
    id: string;
    value: number | null;
    limit: number | null;
    unit: string;
    met: boolean | null;
  }[]) {
    const met = t.value === null ? 'unavailable' : t.met === null ? 'reported' : t.met ? 'yes' : '**no**';
    lines.push(
      `| ${t.id} | ${t.value === null ? '—' : `${t.value.toFixed(2)} ${t.unit}`} | ${t.limit === null ? '—' : `${t.limit.toFixed(2)} ${t.unit}`} | ${met} |`,
    );
  }
  return lines.join('\n') + '\n';
}

void main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
