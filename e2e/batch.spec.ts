/** Issue 5: the batch comparison in the browser, its exports, resume/cancel, and parity with the CLI. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { parseCsv, RESULT_COLUMNS } from '../src/batch/results';
import { expect, test } from './fixtures';
import { ComparePage } from './pages/compare';

async function modelsThenBatch(page: Page): Promise<void> {
  const app = new ComparePage(page);
  await app.open('sample=0');
  await app.loadFixtures();
  await page.getByTestId('tab-batch').click();
}

async function download(page: Page, testId: string): Promise<string> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return readFileSync(await d.path(), 'utf8');
}

test('a dropped 2D dataset gives the summary, both figures and exports whose rows match the command line', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await modelsThenBatch(page);
  await page.getByTestId('batch-folder-input').setInputFiles('test-data/sam-med2d-demo-ct2d');
  await expect(page.getByTestId('batch-preview')).toContainText('images/masks layout');
  await expect(page.getByTestId('preview-case')).toHaveCount(2);
  await expect(page.getByTestId('batch-total')).toContainText('2 cases · 21 units');
  await expect(page.getByTestId('batch-skipped')).toContainText('3 files not used');
  await page.getByTestId('batch-maxn').fill('3');
  await page.getByTestId('batch-run').click();
  await expect(page.getByTestId('batch-status')).toContainText('Finished: 21 units', { timeout: 240_000 });
  await expect(page.getByTestId('summary-row').first()).toBeVisible();
  expect(await page.getByTestId('summary-row').count()).toBe(15 + 6); // structures of s0114_111 and s0619_32
  await expect(page.getByTestId('figure1').locator('[data-rendered=true]')).toBeVisible();
  await expect(page.getByTestId('figure2').locator('[data-rendered=true]')).toBeVisible();
  await expect(page.getByTestId('scatter').locator('[data-rendered=true]')).toBeVisible();

  const csv = await download(page, 'export-results');
  const rows = parseCsv(csv);
  expect(Object.keys(rows[0]!)).toEqual(RESULT_COLUMNS);
  // 21 units × (SAM: 4 prompt sets × (3 candidates + single token) + SAM 2: 4 × 3).
  expect(rows).toHaveLength(21 * (4 * 4 + 4 * 3));
  const summary = parseCsv(await download(page, 'export-summary'));
  expect(summary.length).toBeGreaterThan(0);
  const prov = JSON.parse(await download(page, 'export-provenance')) as {
    dataset: { fileListHash: string; files: string[] };
    settings: { protocol: { seed: number }; models: { sha256?: string; files: { sha256: string }[] }[] };
  };
  expect(prov.dataset.fileListHash).toMatch(/^[0-9a-f]{16}$/);
  expect(prov.settings.protocol.seed).toBe(42);
  expect(prov.settings.models[0]!.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  const [png] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('export-figure1-png').click(),
  ]);
  expect(png.suggestedFilename()).toMatch(/figure1\.png$/);
  const [svg] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('export-figure2-svg').click(),
  ]);
  expect(readFileSync(await svg.path(), 'utf8')).toContain('<svg');

  // The command line on the same folder, models and seed writes the same rows.
  const out = mkdtempSync(join(tmpdir(), 'samcmp-cli-'));
  execFileSync(
    'npx',
    [
      'tsx',
      'src/cli/evaluate.ts',
      '--data',
      'test-data/sam-med2d-demo-ct2d',
      '--sam',
      'fixture-sam1-meta',
      '--sam2',
      'fixture-hf-sam2',
      '--out',
      out,
      '--max-points',
      '3',
      '--threads',
      '2',
    ],
    { stdio: 'pipe' },
  );
  const cli = parseCsv(readFileSync(join(out, 'results.csv'), 'utf8'));
  expect(cli).toHaveLength(rows.length);
  const key = (r: Record<string, string>) =>
    [
      r['case'],
      r['slice'],
      r['label_value'],
      r['model_slot'],
      r['strategy'],
      r['n_points'],
      r['candidate'],
    ].join('|');
  const byKey = new Map(cli.map((r) => [key(r), r]));
  for (const r of rows) {
    const c = byKey.get(key(r));
    expect(c, key(r)).toBeDefined();
    expect(c!['points']).toBe(r['points']);
    expect(c!['selected_by']).toBe(r['selected_by']);
    expect(Math.abs(Number(c!['dice']) - Number(r['dice']))).toBeLessThanOrEqual(1e-6);
  }
});

test('a run survives a reload (resumes without recounting) and a cancel keeps finished units', async ({
  page,
}) => {
  test.setTimeout(420_000);
  await modelsThenBatch(page);
  await page.getByTestId('batch-folder-input').setInputFiles('test-data/totalsegmentator-testref/ct_sm');
  await expect(page.getByTestId('batch-preview')).toContainText('image + segmentation per folder');
  // With every slice: structures that reach the minimum area somewhere have a non-zero unit count.
  const perStructure = await page.getByTestId('preview-case').locator('td').nth(3).innerText();
  const present = [...perStructure.matchAll(/\((\d+)\)/g)].filter((m) => Number(m[1]) > 0).length;
  await page.getByTestId('batch-maxn').fill('1');
  await page.getByTestId('batch-sampling').selectOption('largest');
  await page.getByTestId('batch-k').fill('1');
  // The preview counts units again with the new sampling: one slice per structure.
  const total = present;
  await expect(page.getByTestId('batch-total')).toContainText(`1 case · ${total} units`);
  await page.getByTestId('batch-run').click();
  await expect(page.getByTestId('batch-progress-text')).toContainText(/^([5-9]|\d\d+) \//, {
    timeout: 120_000,
  });
  await page.reload();
  await modelsThenBatch(page);
  // Dropping the same folder again offers to resume; the run keeps the settings it started with.
  await page.getByTestId('batch-folder-input').setInputFiles('test-data/totalsegmentator-testref/ct_sm');
  await expect(page.getByTestId('batch-resume')).toBeVisible();
  const done = Number(/\((\d+)\//.exec(await page.getByTestId('batch-resume').innerText())![1]);
  expect(done).toBeGreaterThanOrEqual(5);
  await page.getByTestId('batch-run').click();
  await expect(page.getByTestId('batch-progress-text')).toContainText(
    new RegExp(`^(${done + 3}|${done + 4}|${done + 5}|${done + 6}) / ${total} `),
    { timeout: 120_000 },
  );
  await page.getByTestId('batch-cancel').click();
  await expect(page.getByTestId('batch-status')).toContainText('Cancelled', { timeout: 60_000 });
  const kept = Number(/Cancelled: (\d+) units/.exec(await page.getByTestId('batch-status').innerText())![1]);
  const csv = parseCsv(await download(page, 'export-results'));
  const units = new Set(csv.map((r) => `${r['case']}|${r['slice']}|${r['label_value']}`));
  // Every unit once: the ones before the reload plus the ones finished after it, none twice.
  expect(units.size).toBe(done + kept);
  expect(csv).toHaveLength(units.size * (1 * 4 + 1 * 3) + units.size * (4 + 3)); // n=1 and pos+neg, both models
});

test('real folders dropped as they are: HC18 ultrasound, the TotalSegmentator references (NIfTI and DICOM), and a mapped unknown folder', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await modelsThenBatch(page);
  await page.getByTestId('batch-folder-input').setInputFiles('test-data/hc18-fetal-head-us');
  await expect(page.getByTestId('batch-preview')).toContainText('HC18 layout');
  await expect(page.getByTestId('preview-case')).toHaveCount(4);
  for (const row of await page.getByTestId('preview-case').allInnerTexts()) {
    expect(row).toMatch(/\tUS\t1\tfetal head \(1\)\t1$/);
  }
  await page.getByTestId('batch-maxn').fill('1');
  await page.getByTestId('batch-run').click();
  await expect(page.getByTestId('batch-status')).toContainText('Finished: 4 units', { timeout: 180_000 });
  await expect(page.getByTestId('summary-row')).toHaveCount(1);
  await expect(page.getByTestId('summary-row')).toContainText('US');

  await page.getByTestId('batch-folder-input').setInputFiles('test-data/totalsegmentator-testref');
  await expect(page.getByTestId('batch-preview')).toContainText('image + segmentation per folder', {
    timeout: 120_000,
  });
  const rows = await page.getByTestId('preview-case').allInnerTexts();
  expect(rows.map((r) => r.split('\t').slice(0, 3).join(' '))).toEqual([
    'ct_dicom CT 20',
    'ct_full CT 112',
    'ct_sm CT 30',
    'mr_sm MR 20',
  ]);
  for (const r of rows) expect(r).toMatch(/liver \([1-9]\d*\)/);

  const dir = mkdtempSync(join(tmpdir(), 'samcmp-unknown-'));
  mkdirSync(join(dir, 'scans'));
  mkdirSync(join(dir, 'truth'));
  copyFileSync('test-data/sam-med2d-demo-ct2d/images/s0619_32.png', join(dir, 'scans', 's0619_32.png'));
  copyFileSync(
    'test-data/sam-med2d-demo-ct2d/masks/s0619_32_colon_000.png',
    join(dir, 'truth', 's0619_32.png'),
  );
  await page.getByTestId('batch-folder-input').setInputFiles(dir);
  await expect(page.getByTestId('mapping-dialog')).toBeVisible();
  await page.getByTestId('map-images').fill('**/scans/*.png');
  await page.getByTestId('map-masks').fill('**/truth/*.png');
  await page.getByTestId('map-values').fill('255=colon');
  await page.getByTestId('map-apply').click();
  await expect(page.getByTestId('preview-case')).toHaveCount(1);
  await expect(page.getByTestId('preview-case')).toContainText('colon (1)');
});

test('a run in which nothing can be computed ends as failed, with an error toast and the failures beside the results', async ({
  page,
}) => {
  test.setTimeout(180_000);
  await modelsThenBatch(page);
  // An images/ + masks/ folder whose files are not images: every case fails to load.
  const dir = mkdtempSync(join(tmpdir(), 'samcmp-broken-'));
  mkdirSync(join(dir, 'images'));
  mkdirSync(join(dir, 'masks'));
  for (const n of ['a', 'b']) {
    writeFileSync(join(dir, 'images', `${n}.png`), 'not a png');
    writeFileSync(join(dir, 'masks', `${n}.png`), 'not a png either');
  }
  await page.getByTestId('batch-folder-input').setInputFiles(dir);
  await expect(page.getByTestId('preview-case')).toHaveCount(2);
  await page.getByTestId('batch-run').click();
  const status = page.getByTestId('batch-status');
  await expect(status).toContainText('Failed: no unit ran (2 cases could not be loaded).', {
    timeout: 120_000,
  });
  await expect(status).not.toContainText('Finished');
  await expect(page.getByTestId('toast-error').filter({ hasText: 'Failed: no unit ran' })).toBeVisible();
  // What failed is listed where the results are, not folded away.
  await expect(page.getByTestId('batch-failures')).toBeVisible();
  await expect(page.getByTestId('run-error')).toHaveCount(2);
  await expect(page.getByTestId('run-error').first()).toContainText('whole case');
  // The view is not left running: it can run again.
  await expect(page.getByTestId('batch-run')).toBeVisible();
  await expect(page.getByTestId('batch-cancel')).toHaveCount(0);
});
