/**
 * Issue 12: every real preset, served under its own hub URL by the local model host with a fixture of
 * its own published graph (tools/fixtures/presets.ts): load → click → masks → Dice in the comparison
 * view, and a batch with every strategy per preset pair.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { parseCsv } from '../src/batch/results';
import { expect, test } from './fixtures';
import { ComparePage } from './pages/compare';

/** Each preset appears once; the SAM preset goes in the SAM pane, the SAM 2 one in the SAM 2 pane. */
const PAIRS = [
  ['sam-vit-b-int8', 'sam2.1-tiny-q8'],
  ['sam-vit-b-fp16', 'sam2.1-tiny-fp32'],
  ['sam-vit-b-hf-q8', 'sam2.1-small-q8'],
  ['slimsam-77-q8', 'sam2-tiny-samexporter'],
] as const;
/** Xenova's SAM graphs on the hub's main revision have no box input (shared model-contracts.md). */
const NO_BOX = new Set(['sam-vit-b-hf-q8', 'slimsam-77-q8']);
const STRATEGIES = ['centre-random', 'pos-neg', 'error-region', 'box'] as const;

/** One CT slice of the SAM-Med2D demo with two structures: a small, fast dataset for a full batch. */
function tinyDataset(): string {
  const dir = mkdtempSync(join(tmpdir(), 'samcmp-presets-'));
  mkdirSync(join(dir, 'images'));
  mkdirSync(join(dir, 'masks'));
  const src = 'test-data/sam-med2d-demo-ct2d';
  copyFileSync(join(src, 'images/s0114_111.png'), join(dir, 'images/s0114_111.png'));
  for (const m of ['s0114_111_aorta_000.png', 's0114_111_vertebrae_T9_000.png'])
    copyFileSync(join(src, 'masks', m), join(dir, 'masks', m));
  return dir;
}

async function download(page: Page, testId: string): Promise<string> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  return readFileSync(await d.path(), 'utf8');
}

for (const [sam, sam2] of PAIRS) {
  test(`${sam} + ${sam2}: each loads from its hub URL, segments the liver from a click, and runs a batch with every strategy`, async ({
    page,
  }) => {
    test.setTimeout(360_000);
    const app = new ComparePage(page);
    await app.open();
    await app.waitForStudy(/embedded sample/);
    await app.loadPreset('sam', sam);
    await app.loadPreset('sam2', sam2);
    for (const slot of ['sam', 'sam2'] as const) {
      // Served under a real model's name, the bytes are still a fixture, and the app says so.
      await expect(page.getByTestId(`fixture-badge-${slot}`)).toHaveText('test fixture');
      await expect(page.getByTestId(`encoder-input-${slot}`)).toContainText(/normalised|RGB 0–/);
    }
    if (sam === 'sam-vit-b-fp16')
      await expect(page.getByTestId('encoder-input-sam')).toContainText('RGB 0–1 (the graph normalises)');

    // A click inside the liver (pixel 40, 55 of the sample's liver slice) must overlap the liver.
    await app.clickPixel(40, 55);
    await app.waitForResults();
    expect(await app.dice('sam')).toBeGreaterThan(0.5);
    expect(await app.dice('sam2')).toBeGreaterThan(0.5);
    expect(await app.errorToasts()).toEqual([]);
    // SAM 2 exports have no single-mask token: choosing that rule says what the SAM 2 pane shows instead.
    await expect(page.getByTestId('rule-note-single')).toHaveCount(0);
    await page.getByTestId('rule').selectOption('single');
    await expect(page.getByTestId('rule-note-single')).toContainText(
      'SAM 2 pane shows its highest-predicted-IoU',
    );
    await page.getByTestId('rule').selectOption('predicted-iou');

    // The batch, on the same two models, with every strategy.
    await page.getByTestId('tab-batch').click();
    await page.getByTestId('batch-folder-input').setInputFiles(tinyDataset());
    await expect(page.getByTestId('batch-total')).toContainText('1 case · 2 units');
    for (const s of STRATEGIES) await page.getByTestId(`strategy-${s}`).check();
    await page.getByTestId('batch-maxn').fill('2');
    await page.getByTestId('batch-run').click();
    await expect(page.getByTestId('batch-status')).toContainText('Finished: 2 units', { timeout: 240_000 });

    const rows = parseCsv(await download(page, 'export-results'));
    for (const slot of ['sam', 'sam2'] as const) {
      const mine = rows.filter((r) => r['model_slot'] === slot);
      expect(new Set(mine.map((r) => r['strategy']))).toEqual(new Set(STRATEGIES));
      expect(new Set(mine.map((r) => r['structure'])).size).toBe(2);
      for (const r of mine) {
        const refused = slot === 'sam' && NO_BOX.has(sam) && r['strategy'] === 'box';
        expect(r['status'], `${slot} ${r['strategy']} ${r['error']}`).toBe(refused ? 'error' : 'ok');
        if (refused) expect(r['error']).toMatch(/no box input/);
        else expect(Number(r['dice'])).toBeGreaterThanOrEqual(0);
      }
    }
    if (NO_BOX.has(sam)) await expect(page.getByTestId('batch-status')).toContainText('with failures');
  });
}
