/** Issue 3: inference in the worker — providers, capabilities, races, responsiveness, GPU loss. */
import { readFileSync } from 'node:fs';
import { expect, test } from './fixtures';
import { ComparePage, diceOf } from './pages/compare';

const UNISOLATED = 'http://127.0.0.1:4175';

test('both models give the same masks on WebAssembly and on WebGPU (Dice ≥ 0.99)', async ({ page }) => {
  // WebGPU here is SwiftShader: correct but 50–100× slower than wasm (shader compilation dominates).
  test.setTimeout(600_000);
  const app = new ComparePage(page);
  // Decoder workers are opt-in (see docs/performance.md); this test covers them.
  await app.open('decoderWorkers=1');
  await app.waitForStudy();
  await page.getByTestId('provider-select').selectOption('wasm');
  await app.loadFixtures();
  await expect(page.getByTestId('model-info-sam')).toContainText('WebAssembly');
  await app.clickPixel(40, 55);
  await app.waitForResults();
  const wasm = { sam: await app.mask('sam'), sam2: await app.mask('sam2') };
  // On WebAssembly each model decodes in its own one-thread decoder worker, beside the encoder's pool.
  for (const slot of ['sam', 'sam2'])
    await expect(page.getByTestId(`decode-${slot}`)).toHaveAttribute('data-worker', 'decoder');
  const wasmIou = await page.getByTestId('candidates-sam').innerText();

  // Switching the provider restarts the worker and reloads both models from the cache.
  await page.getByTestId('provider-select').selectOption('webgpu');
  await expect(page.getByTestId('model-info-sam')).toContainText('WebGPU', { timeout: 120_000 });
  await expect(page.getByTestId('model-info-sam2')).toContainText('WebGPU', { timeout: 120_000 });
  await app.waitForResults(['sam', 'sam2'], 400_000);
  await expect(page.getByTestId('metrics-sam')).toContainText('webgpu');
  // Under WebGPU the embeddings stay on the GPU device, so the inference worker decodes them itself.
  for (const slot of ['sam', 'sam2'])
    await expect(page.getByTestId(`decode-${slot}`)).toHaveAttribute('data-worker', 'inference');
  const gpu = { sam: await app.mask('sam'), sam2: await app.mask('sam2') };
  for (const slot of ['sam', 'sam2'] as const) {
    const a = wasm[slot];
    const b = gpu[slot];
    expect(a && b).toBeTruthy();
    expect(diceOf(a!.data, b!.data)).toBeGreaterThanOrEqual(0.99);
  }
  // Predicted IoUs agree to two decimals.
  expect(await page.getByTestId('candidates-sam').innerText()).toBe(wasmIou);
});

test('without cross-origin isolation it runs one thread and says so', async ({ page }) => {
  await page.goto(`${UNISOLATED}/index.html?sample=0`);
  await expect(page.getByTestId('backend-isolation')).toHaveText('not isolated');
  await expect(page.getByTestId('backend-threads')).toHaveText('1 thread');
  await expect(page.getByTestId('backend-notices')).toContainText('1 thread');
  await page.getByTestId('preset-sam').selectOption('fixture-sam1-meta');
  await page.getByTestId('load-sam').click();
  await expect(page.getByTestId('model-info-sam')).toContainText('WebAssembly, 1 thread');
});

test('without navigator.gpu the models run on WebAssembly with a notice', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  const app = new ComparePage(page);
  await app.open();
  await app.waitForStudy();
  await expect(page.getByTestId('backend-notices')).toContainText('WebGPU unavailable');
  const viewports = () =>
    Promise.all(['sam', 'sam2'].map((slot) => page.getByTestId(`viewport-${slot}`).boundingBox()));
  const before = await viewports();
  await app.loadFixtures();
  await expect(page.getByTestId('model-info-sam2')).toContainText('WebAssembly');
  // Model details filling the side panel must not resize the viewports either (the panel scrolls).
  expect(await viewports()).toEqual(before);
  await app.clickPixel(40, 55);
  await app.waitForResults();
  // The benchmark's click-to-overlay measures: one per pane and one for both, from the same click, so
  // neither pane's can end after the both-panes one.
  const measures = () =>
    page.evaluate(() =>
      ['click-to-overlay', 'click-to-overlay:sam', 'click-to-overlay:sam2'].map((n) =>
        performance.getEntriesByName(n).map((e) => [e.startTime, e.startTime + e.duration]),
      ),
    );
  await expect.poll(async () => (await measures()).map((m) => m.length)).toEqual([1, 1, 1]);
  const [[both], [sam], [sam2]] = (await measures()) as [number[][], number[][], number[][]];
  for (const pane of [sam, sam2]) {
    expect(pane?.[0]).toBe(both?.[0]);
    expect(pane?.[1]).toBeLessThanOrEqual(both?.[1] ?? -1);
  }
  // By default the inference worker decodes too (decoder workers are opt-in).
  await expect(page.getByTestId('decode-sam2')).toHaveAttribute('data-worker', 'inference');
  // Candidates appearing must not resize the viewports (the image would jump and re-render per click).
  expect(await viewports()).toEqual(before);
  // Thumbnails are drawn at the size they are shown (64 CSS px), not at the 122×101 image's size.
  const dpr = await page.evaluate(() => window.devicePixelRatio);
  const sizes = await page
    .locator('[data-testid^="candidate-sam-"] canvas')
    .evaluateAll((cs) => cs.map((c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]));
  expect(sizes).toHaveLength(3);
  for (const [w, h] of sizes) expect(Math.max(w ?? 0, h ?? 0)).toBe(Math.round(64 * dpr));
  await page.keyboard.press('c');
  await expect(page.getByTestId('candidates-sam')).toContainText('appear here after a prompt');
  expect(await viewports()).toEqual(before);

  // A small laptop window: all three candidates stay whole inside each strip, and the metrics stay on
  // screen without scrolling the page.
  await app.clickPixel(40, 55);
  await app.waitForResults();
  await page.setViewportSize({ width: 1100, height: 620 });
  for (const slot of ['sam', 'sam2']) {
    const strip = (await page.getByTestId(`candidates-${slot}`).boundingBox())!;
    for (let i = 0; i < 3; i++) {
      const t = (await page.getByTestId(`candidate-${slot}-${i}`).boundingBox())!;
      expect(t.x).toBeGreaterThanOrEqual(strip.x);
      expect(t.x + t.width).toBeLessThanOrEqual(strip.x + strip.width);
      expect(t.y + t.height).toBeLessThanOrEqual(strip.y + strip.height);
    }
    await expect(page.getByTestId(`dice-${slot}`)).toBeInViewport({ ratio: 1 });
  }
});

test('20 rapid clicks: only the last prompt set is decoded into what is shown, with no error', async ({
  page,
}) => {
  const app = new ComparePage(page);
  await app.open();
  await app.waitForStudy();
  await app.loadFixtures();
  for (let i = 0; i < 20; i++)
    await app.clickPixel(30 + (i % 5) * 3, 45 + Math.floor(i / 5) * 4, {
      button: i % 7 === 6 ? 'right' : 'left',
    });
  await expect(page.getByTestId('prompt-count')).toContainText(/18 positive · 2 negative/);
  await app.waitForResults();
  const shown = { sam: await app.mask('sam'), sam2: await app.mask('sam2') };
  // Decoding the final 20-point set again from scratch must give exactly what is on screen.
  await page.getByTestId('undo').click();
  await app.waitForResults();
  await page.getByTestId('redo').click();
  await app.waitForResults();
  expect((await app.mask('sam'))!.data).toEqual(shown.sam!.data);
  expect((await app.mask('sam2'))!.data).toEqual(shown.sam2!.data);
  expect(await app.errorToasts()).toEqual([]);
});

test('the encoder runs off the main thread, and switching slices mid-encode settles on the new slice', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const app = new ComparePage(page);
  await app.open();
  await app.waitForStudy();
  await page.evaluate(() => {
    const w = window as unknown as { __long: { start: number; duration: number }[] };
    w.__long = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__long.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: false });
  });
  // A heavier encoder (extra convolution layers) makes each encode last long enough to measure and interrupt.
  await page.getByTestId('local-files-sam').setInputFiles([
    {
      name: 'encoder-heavy.onnx',
      mimeType: 'application/octet-stream',
      buffer: readFileSync('public/fixtures/sam1-meta/encoder-heavy.onnx'),
    },
    {
      name: 'decoder.onnx',
      mimeType: 'application/octet-stream',
      buffer: readFileSync('public/fixtures/sam1-meta/decoder.onnx'),
    },
  ]);
  // 1. While the first encode runs and nobody touches the page, the main thread has no long task: were the
  //    encoder on it, one task would last as long as the encode itself.
  await expect(page.getByTestId('status-sam')).toHaveText('encoding…');
  const t0 = await page.evaluate(() => performance.now());
  await expect(page.getByTestId('status-sam')).toHaveText('', { timeout: 120_000 });
  const t1 = await page.evaluate(() => performance.now());
  expect(t1 - t0, 'the encode lasted long enough to show up as a long task').toBeGreaterThan(300);
  const during = await page.evaluate(
    ([a, b]) =>
      (window as unknown as { __long: { start: number; duration: number }[] }).__long
        .filter((e) => e.start + e.duration > a && e.start < b)
        .map((e) => Math.round(e.duration)),
    [t0, t1] as const,
  );
  expect(
    Math.max(0, ...during),
    `main-thread long tasks during the encode: ${during.join(', ')} ms`,
  ).toBeLessThan(200);

  // 2. Scroll while an encode runs: each new slice supersedes the queued one, and the result is for the last.
  await page.getByTestId('slice-slider').fill('20');
  await page.getByTestId('slice-slider').fill('18');
  await page.getByTestId('slice-slider').fill('15');
  await expect(page.getByTestId('slice-label')).toHaveText('16 / 30');
  await expect(page.getByTestId('status-sam')).toHaveText('', { timeout: 120_000 });
  await app.clickPixel(40, 55, { pane: 'sam' });
  await app.waitForResults(['sam']);
  // The mask is on slice 15: its GT contour and metrics belong to that slice.
  const prov = await page.evaluate(
    () =>
      (
        window as unknown as { samCompare: { engine: { provenanceRecord: () => { slice: number } } } }
      ).samCompare.engine.provenanceRecord().slice,
  );
  expect(prov).toBe(15);
});

test('a lost GPU device is surfaced, no stale mask is shown, and switching to WebAssembly recovers', async ({
  page,
}) => {
  test.setTimeout(300_000);
  const app = new ComparePage(page);
  await app.open();
  await app.waitForStudy();
  await page.getByTestId('provider-select').selectOption('webgpu');
  await app.loadPreset('sam2', 'fixture-hf-sam2');
  await app.clickPixel(40, 55, { pane: 'sam2' });
  await app.waitForResults(['sam2']);
  await page.evaluate(async () => {
    const e = (
      window as unknown as {
        samCompare: { engine: { client: { request: (r: { kind: string }) => Promise<unknown> } } };
      }
    ).samCompare.engine;
    await e.client.request({ kind: 'debug-lose-gpu' });
  });
  await expect(page.getByTestId('gpu-lost-banner')).toBeVisible();
  await expect(page.getByTestId('dice-sam2')).toHaveText('—');
  expect(await app.mask('sam2')).toBeNull();
  await page.getByTestId('toast-error').getByRole('button').click();
  await page.getByTestId('switch-wasm').click();
  await expect(page.getByTestId('gpu-lost-banner')).toBeHidden();
  await expect(page.getByTestId('model-info-sam2')).toContainText('WebAssembly', { timeout: 60_000 });
  await app.waitForResults(['sam2']);
});

test('after a lost GPU device, "Retry on WebGPU" recreates the sessions on a new device and masks come back', async ({
  page,
}) => {
  test.setTimeout(300_000);
  const app = new ComparePage(page);
  await app.open();
  await app.waitForStudy();
  await page.getByTestId('provider-select').selectOption('webgpu');
  await app.loadPreset('sam2', 'fixture-hf-sam2');
  await app.clickPixel(40, 55, { pane: 'sam2' });
  await app.waitForResults(['sam2']);
  const before = await app.mask('sam2');
  await page.evaluate(async () => {
    await (
      window as unknown as { samCompare: { engine: { simulateGpuLoss: () => Promise<void> } } }
    ).samCompare.engine.simulateGpuLoss();
  });
  await expect(page.getByTestId('gpu-lost-banner')).toBeVisible();
  await page.getByTestId('toast-error').getByRole('button').click();
  await page.getByTestId('retry-gpu').click();
  await expect(page.getByTestId('gpu-lost-banner')).toBeHidden();
  await expect(page.getByTestId('model-info-sam2')).toContainText('WebGPU', { timeout: 120_000 });
  await app.waitForResults(['sam2'], 180_000);
  // The same prompt on the new device gives the same mask.
  expect((await app.mask('sam2'))?.data).toEqual(before?.data);
});
