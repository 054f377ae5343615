/** Issue 4: DICOM series with a NIfTI or DICOM SEG ground truth, and DICOM SEG export. */
import { readFileSync, readdirSync } from 'node:fs';
import type { Download } from '@playwright/test';
import { canonicalize, toSourceGrid } from '../src/core/image/volume';
import { readDicomSeg, readDicomSeries, writeDicomSeg } from '../src/core/io/dicom';
import { readNifti } from '../src/core/io/nifti';
import { corruptFixtures } from '../src/core/testing/corrupt';
import { cornerstoneFrameDecoder } from '../src/codecs/dicom-codecs';
import { expect, test } from './fixtures';
import { ComparePage } from './pages/compare';

const DIR = 'test-data/totalsegmentator-testref/ct_dicom';
const SERIES = readdirSync(`${DIR}/example_ct_dicom`).map((n) => ({
  name: n,
  mimeType: 'application/dicom',
  buffer: readFileSync(`${DIR}/example_ct_dicom/${n}`),
}));
const SEG_NII = {
  name: 'example_seg_dicom.nii.gz',
  mimeType: 'application/gzip',
  buffer: readFileSync(`${DIR}/example_seg_dicom.nii.gz`),
};

test('opens the CT DICOM series (JPEG 2000) with its NIfTI segmentation, aligned through world coordinates', async ({
  page,
}) => {
  const app = new ComparePage(page);
  await app.open('sample=0');
  await page.getByTestId('image-input').setInputFiles([...SERIES, SEG_NII]);
  await app.waitForStudy(/DICOM series \(20 files\)/);
  await expect(page.getByTestId('study-info')).toContainText('512×512×20');
  await expect(page.getByTestId('study-info')).toContainText('0.98×0.98×2.00 mm');
  await expect(page.getByTestId('modality')).toHaveValue('CT');
  await expect(page.getByTestId('structure').locator('option', { hasText: /^liver/ })).toHaveCount(1);
  await page.getByTestId('structure').selectOption({
    label: await page
      .getByTestId('structure')
      .locator('option', { hasText: /^liver/ })
      .innerText(),
  });
  await expect(page.getByTestId('export-seg')).toBeEnabled();
  await expect(page.getByTestId('viewport-sam')).toHaveScreenshot('ct-dicom-liver.png', {
    maxDiffPixelRatio: 0.02,
  });
});

test('reads a DICOM SEG made by the test suite as ground truth, and exports DICOM SEG masks that read back', async ({
  page,
}) => {
  // Build a SEG for the liver on the DICOM grid from the NIfTI reference.
  const dicom = await readDicomSeries(
    SERIES.map((f) => ({ name: f.name, bytes: new Uint8Array(f.buffer) })),
    { decoder: cornerstoneFrameDecoder },
  );
  const s = dicom.series[0]!;
  const img = s.result.volume;
  const nii = readNifti({ name: SEG_NII.name, bytes: new Uint8Array(SEG_NII.buffer) });
  const can = canonicalize(nii.volume);
  const liverCanonical = Uint8Array.from(can.data, (v) => (v === 5 ? 1 : 0));
  const liver = toSourceGrid(liverCanonical, can, img);
  const segBytes = writeDicomSeg({
    labels: { ...img, data: liver },
    segments: [{ number: 1, label: 'liver (test SEG)' }],
    frameOfReference: s.result.frameOfReference ?? '1.2.3',
    studyInstanceUid: s.studyUid || '1.2.3.4',
    seriesInstanceUid: s.seriesUid || '1.2.3.5',
    sourceSopInstanceUids: s.sopInstanceUids,
    seed: 'e2e-seg',
  });
  const app = new ComparePage(page);
  await app.open('sample=0');
  await page.getByTestId('image-input').setInputFiles(SERIES);
  await app.waitForStudy(/DICOM series/);
  await page
    .getByTestId('gt-input')
    .setInputFiles([{ name: 'liver.seg.dcm', mimeType: 'application/dicom', buffer: Buffer.from(segBytes) }]);
  await expect(page.getByTestId('structure')).toContainText('liver (test SEG)');
  await expect(page.getByTestId('gt-info')).toContainText('liver.seg.dcm');
  await app.loadFixtures();
  // A click inside the liver on the largest liver slice (image px in display orientation).
  await app.clickPixel(150, 260);
  await app.waitForResults();
  const shown = await app.mask('sam2');
  const downloads: Download[] = [];
  const done = new Promise<void>((ok) => {
    page.on('download', (d) => {
      downloads.push(d);
      if (downloads.length === 3) ok();
    });
  });
  await page.getByTestId('export-seg').click();
  await done;
  const sam2Seg = downloads.find((d) => d.suggestedFilename().endsWith('_SAM2.seg.dcm'))!;
  const back = readDicomSeg(
    { name: 'x.dcm', bytes: new Uint8Array(readFileSync(await sam2Seg.path())) },
    { ...img, ...(s.result.frameOfReference ? { frameOfReference: s.result.frameOfReference } : {}) },
  );
  let area = 0;
  for (const v of back.volume.data) if (v) area++;
  expect(area).toBe(shown!.data.reduce((a, v) => a + v, 0));
  expect([...back.labelNames!.values()][0]).toMatch(/^SAM 2 /);
});

test('a truncated DICOM file gives a clear error and leaves the loaded study intact', async ({ page }) => {
  const app = new ComparePage(page);
  await app.open();
  await app.waitForStudy(/embedded sample/);
  const one = SERIES[0]!;
  await page
    .getByTestId('image-input')
    .setInputFiles([
      { ...one, name: 'cut.dcm', buffer: one.buffer.subarray(0, Math.floor(one.buffer.length * 0.6)) },
    ]);
  await expect(page.getByTestId('toast-error').last()).toContainText(/cut\.dcm/);
  await expect(page.getByTestId('toast-error').last()).toContainText(/truncated|ends/i);
  await expect(page.getByTestId('study-info')).toContainText('embedded sample');
});

test('a non-conforming DICOM file is refused strictly, and read only after opting in to lenient reading, which the study notes', async ({
  page,
}) => {
  const bad = corruptFixtures().find((f) => f.id === 'dicom-vr-invalid');
  if (!bad) throw new Error('fixture dicom-vr-invalid missing');
  const file = { name: bad.file.name, mimeType: 'application/dicom', buffer: Buffer.from(bad.file.bytes) };
  const app = new ComparePage(page);
  await app.open();
  await app.waitForStudy(/embedded sample/);
  await expect(page.getByTestId('lenient-dicom')).not.toBeChecked();
  await page.getByTestId('image-input').setInputFiles([file]);
  await expect(page.getByTestId('toast-error').last()).toContainText(/invalid VR .*lenient reading/);
  await expect(page.getByTestId('study-info')).toContainText('embedded sample');
  await page.getByTestId('toast-dismiss').first().click();
  await page.getByTestId('lenient-dicom').check();
  await page.getByTestId('image-input').setInputFiles([file]);
  await app.waitForStudy(/DICOM series \(1 files\)/);
  await expect(page.getByTestId('study-note').filter({ hasText: 'read leniently' })).toBeVisible();
});
