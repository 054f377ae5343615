/**
 * Issue 4: click inside the liver on the sample CT, export the masks, and recompute Dice independently
 * from the exported files and the reference segmentation file.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Download } from '@playwright/test';
import { decode as decodePng } from 'fast-png';
import { expect, test } from './fixtures';
import { ComparePage } from './pages/compare';

/** A deliberately separate, minimal NIfTI-1 reader (little-endian, uint8/int16/float32). */
function niftiVoxels(buf: Buffer): { dims: number[]; data: Float64Array } {
  const b = buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf;
  const dims = [b.readInt16LE(42), b.readInt16LE(44), b.readInt16LE(46)];
  const type = b.readInt16LE(70);
  const off = Math.round(b.readFloatLE(108));
  const n = dims[0]! * dims[1]! * dims[2]!;
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    data[i] =
      type === 2
        ? b.readUInt8(off + i)
        : type === 4
          ? b.readInt16LE(off + 2 * i)
          : b.readFloatLE(off + 4 * i);
  }
  return { dims, data };
}

function dice(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let i2 = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ? 1 : 0;
    const y = b[i] ? 1 : 0;
    i2 += 2 * (x & y);
    s += x + y;
  }
  return i2 / s;
}

async function collect(
  page: import('@playwright/test').Page,
  n: number,
  action: () => Promise<void>,
): Promise<Map<string, Buffer>> {
  const got: Download[] = [];
  const done = new Promise<void>((ok) => {
    page.on('download', (d) => {
      got.push(d);
      if (got.length === n) ok();
    });
  });
  await action();
  await done;
  const out = new Map<string, Buffer>();
  for (const d of got) out.set(d.suggestedFilename(), readFileSync(await d.path()));
  return out;
}

test('Dice shown after a click in the liver equals Dice recomputed from the exported masks and the reference file', async ({
  page,
}) => {
  const app = new ComparePage(page);
  await app.open();
  await app.waitForStudy(/embedded sample/);
  await expect(page.getByTestId('structure')).toHaveValue('5'); // liver in the `total` table
  await app.loadFixtures();
  await app.clickPixel(40, 55);
  await app.waitForResults();
  const shown = { sam: await app.dice('sam'), sam2: await app.dice('sam2') };
  const slice = Number((await page.getByTestId('slice-label').innerText()).split(' / ')[0]) - 1;

  const nii = await collect(page, 3, () => page.getByTestId('export-nifti').click());
  const names = [...nii.keys()];
  const samName = names.find((n) => n.endsWith('_SAM.nii'));
  const sam2Name = names.find((n) => n.endsWith('_SAM2.nii'));
  const provName = names.find((n) => n.endsWith('_provenance.json'));
  expect(samName && sam2Name && provName).toBeTruthy();
  const seg = niftiVoxels(readFileSync('test-data/totalsegmentator-testref/ct_sm/example_seg.nii.gz'));
  const liver = seg.data.map((v) => (v === 5 ? 1 : 0));
  for (const [slot, name] of [
    ['sam', samName!],
    ['sam2', sam2Name!],
  ] as const) {
    const m = niftiVoxels(nii.get(name)!);
    expect(m.dims).toEqual(seg.dims);
    // The exported mask lives on one slice of the source grid: compare on that plane only.
    const [nx, ny] = seg.dims as [number, number, number];
    const plane = (d: Float64Array) => d.subarray(slice * nx * ny, (slice + 1) * nx * ny);
    expect(m.data.reduce((a, v) => a + (v ? 1 : 0), 0)).toBe(
      plane(m.data).reduce((a, v) => a + (v ? 1 : 0), 0),
    );
    expect(dice(plane(m.data), plane(liver))).toBeCloseTo(shown[slot], 3);
  }
  const prov = JSON.parse(nii.get(provName!)!.toString('utf8')) as {
    window: string;
    prompts: { points: number[][] };
    models: Record<string, { isFixture: boolean; files: { sha256: string }[] }>;
  };
  expect(prov.window).toBe('W400/L40');
  expect(prov.prompts.points).toEqual([[40, 55, 1]]);
  expect(prov.models['sam']?.isFixture).toBe(true);
  expect(prov.models['sam2']?.files[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);

  // PNG export: the display-oriented slice mask; its area matches the NIfTI export's.
  const png = await collect(page, 3, () => page.getByTestId('export-png').click());
  const pngName = [...png.keys()].find((n) => n.endsWith('_SAM.png'))!;
  const decoded = decodePng(png.get(pngName)!);
  const pngArea = Array.from(decoded.data).filter((v) => v > 0).length;
  const niiArea = niftiVoxels(nii.get(samName!)!).data.reduce((a, v) => a + (v ? 1 : 0), 0);
  expect(pngArea).toBe(niiArea);

  // Screenshot of the comparison.
  const shot = await collect(page, 1, () => page.getByTestId('screenshot').click());
  const img = decodePng([...shot.values()][0]!);
  expect(img.width).toBeGreaterThan(400);
});

test('undo, redo, negative clicks, box prompts and a seeded auto prompt that gives the same points after a reload', async ({
  page,
}) => {
  const app = new ComparePage(page);
  await app.open();
  await app.waitForStudy();
  await app.loadPreset('sam2', 'fixture-hf-sam2');
  await app.clickPixel(40, 55, { pane: 'sam2' });
  await app.waitForResults(['sam2']);
  const oneClick = await app.mask('sam2');
  await app.clickPixel(45, 60, { pane: 'sam2', button: 'right' });
  await expect(page.getByTestId('prompt-count')).toHaveText('1 positive · 1 negative');
  await app.waitForResults(['sam2']);
  const area = (m: { data: number[] } | null) => m!.data.reduce((a, v) => a + v, 0);
  expect(area(await app.mask('sam2'))).toBeLessThan(area(oneClick));
  await page.keyboard.press('Control+z');
  await expect(page.getByTestId('prompt-count')).toHaveText('1 positive · 0 negative');
  await app.waitForResults(['sam2']);
  expect((await app.mask('sam2'))!.data).toEqual(oneClick!.data);
  await page.getByTestId('redo').click();
  await expect(page.getByTestId('prompt-count')).toHaveText('1 positive · 1 negative');
  await page.getByTestId('clear').click();
  await expect(page.getByTestId('prompt-count')).toHaveText('0 positive · 0 negative');
  // Box: shift-drag on the pane.
  const p0 = await page.evaluate(() =>
    (
      window as unknown as {
        samCompare: {
          engine: {
            viewer: { imageToCanvasPoint: (p: string, x: number, y: number) => { x: number; y: number } };
          };
        };
      }
    ).samCompare.engine.viewer.imageToCanvasPoint('sam2', 25, 30),
  );
  const p1 = await page.evaluate(() =>
    (
      window as unknown as {
        samCompare: {
          engine: {
            viewer: { imageToCanvasPoint: (p: string, x: number, y: number) => { x: number; y: number } };
          };
        };
      }
    ).samCompare.engine.viewer.imageToCanvasPoint('sam2', 60, 80),
  );
  const box = (await page.getByTestId('viewport-sam2').boundingBox())!;
  await page.keyboard.down('Shift');
  await page.mouse.move(box.x + p0.x, box.y + p0.y);
  await page.mouse.down();
  await page.mouse.move(box.x + (p0.x + p1.x) / 2, box.y + (p0.y + p1.y) / 2, { steps: 4 });
  await page.mouse.move(box.x + p1.x, box.y + p1.y, { steps: 4 });
  await page.mouse.up();
  await page.keyboard.up('Shift');
  await expect(page.getByTestId('prompt-count')).toHaveText('0 positive · 0 negative · box');
  await app.waitForResults(['sam2']);
  // Auto prompt with a fixed seed: same points after a reload.
  await page.getByTestId('auto-strategy').selectOption('pos-neg');
  await page.getByTestId('seed').fill('7');
  await page.getByTestId('auto-prompt').click();
  await expect(page.getByTestId('prompt-count')).toHaveText('1 positive · 2 negative');
  const points = async () =>
    page.evaluate(
      () =>
        (
          window as unknown as {
            samCompare: { engine: { provenanceRecord: () => { prompts: { points: number[][] } } } };
          }
        ).samCompare.engine.provenanceRecord().prompts.points,
    );
  const first = await points();
  await page.reload();
  await app.waitForStudy();
  await page.getByTestId('auto-strategy').selectOption('pos-neg');
  await page.getByTestId('seed').fill('7');
  await page.getByTestId('auto-prompt').click();
  await expect(page.getByTestId('prompt-count')).toHaveText('1 positive · 2 negative');
  expect(await points()).toEqual(first);
});
