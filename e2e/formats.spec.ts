/** Issue 4: each format opens and renders with its ground truth; bad files leave the study intact. */
import { readFileSync } from 'node:fs';
import { expect, test } from './fixtures';
import { ComparePage } from './pages/compare';

const TD = 'test-data';
const file = (path: string, name = path.split('/').pop() ?? path) => ({
  name,
  mimeType: 'application/octet-stream',
  buffer: readFileSync(path),
});

test('opens the MR NIfTI with its segmentation (total_mr labels) and renders it', async ({ page }) => {
  const app = new ComparePage(page);
  await app.open('sample=0');
  await page
    .getByTestId('image-input')
    .setInputFiles([
      file(`${TD}/totalsegmentator-testref/mr_sm/example_mr_sm.nii.gz`),
      file(`${TD}/totalsegmentator-testref/mr_sm/example_seg_mr.nii.gz`),
    ]);
  await app.waitForStudy(/example_mr_sm/);
  await expect(page.getByTestId('study-info')).toContainText('117×91×20');
  await expect(page.getByTestId('modality')).toHaveValue('MR');
  await expect(page.getByTestId('gt-info')).toContainText('total_mr');
  await expect(page.getByTestId('structure').locator('option', { hasText: 'liver' })).toHaveCount(1);
  await expect(page.getByTestId('window-preset')).toHaveValue('percentile');
  await expect(page.getByTestId('viewport-sam')).toHaveScreenshot('mr-nifti.png', {
    maxDiffPixelRatio: 0.02,
  });
});

test('opens an HC18 ultrasound PNG with its outline annotation (filled, with a note) and the pixel-size table', async ({
  page,
}) => {
  const app = new ComparePage(page);
  await app.open('sample=0');
  await page
    .getByTestId('image-input')
    .setInputFiles([
      file(`${TD}/hc18-fetal-head-us/training_set/010_HC.png`),
      file(`${TD}/hc18-fetal-head-us/training_set/010_HC_Annotation.png`),
      file(`${TD}/hc18-fetal-head-us/training_set_pixel_size_and_HC.csv`),
    ]);
  await app.waitForStudy(/010_HC\.png/);
  await expect(page.getByTestId('study-info')).toContainText('800×540×1');
  await expect(page.getByTestId('study-info')).toContainText(' mm');
  await expect(page.getByTestId('modality')).toHaveValue('US');
  await expect(page.getByTestId('study-note').first()).toContainText('outline; it was filled');
  await expect(page.getByTestId('structure')).toContainText('fetal head');
  await expect(page.getByTestId('viewport-sam')).toHaveScreenshot('hc18-us.png', { maxDiffPixelRatio: 0.02 });
});

test('opens a SAM-Med2D PNG slice with one binary mask per structure, components merged', async ({
  page,
}) => {
  const app = new ComparePage(page);
  await app.open('sample=0');
  const masks = [
    'colon_000',
    'femur_right_000',
    'gluteus_maximus_left_000',
    'gluteus_maximus_right_000',
    'hip_left_000',
    'hip_left_001',
    'hip_right_000',
    'hip_right_001',
  ];
  await page
    .getByTestId('image-input')
    .setInputFiles([
      file(`${TD}/sam-med2d-demo-ct2d/images/s0619_32.png`),
      ...masks.map((m) => file(`${TD}/sam-med2d-demo-ct2d/masks/s0619_32_${m}.png`)),
    ]);
  await app.waitForStudy(/s0619_32/);
  const options = await page.getByTestId('structure').locator('option').allInnerTexts();
  expect(options.map((o) => o.replace(/ \(.*$/, '')).sort()).toEqual([
    'colon',
    'femur right',
    'gluteus maximus left',
    'gluteus maximus right',
    'hip left',
    'hip right',
  ]);
  await expect(page.getByTestId('study-info')).toContainText('no physical spacing (metrics in px)');
  await expect(page.getByTestId('window-preset')).toHaveValue('identity');
});

test('bad files give clear errors and leave the loaded study intact', async ({ page }) => {
  const app = new ComparePage(page);
  await app.open();
  await app.waitForStudy(/embedded sample/);
  // Random bytes named .nii.gz
  await page.getByTestId('image-input').setInputFiles([
    {
      name: 'scan.nii.gz',
      mimeType: 'application/gzip',
      buffer: Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 37 + 11) % 256)),
    },
  ]);
  await expect(page.getByTestId('toast-error').last()).toContainText('scan.nii.gz');
  // A mask on another grid (the MR seg against the CT sample)
  await page
    .getByTestId('gt-input')
    .setInputFiles([file(`${TD}/totalsegmentator-testref/mr_sm/example_seg_mr.nii.gz`)]);
  await expect(page.getByTestId('toast-error').last()).toContainText('different grid');
  await expect(page.getByTestId('study-info')).toContainText('embedded sample');
  await expect(page.getByTestId('gt-info')).toContainText('TotalSegmentator reference');
  // Truncated NIfTI
  const ct = readFileSync('public/sample/example_ct_sm.nii.gz');
  await page
    .getByTestId('image-input')
    .setInputFiles([
      { name: 'cut.nii.gz', mimeType: 'application/gzip', buffer: ct.subarray(0, Math.floor(ct.length / 2)) },
    ]);
  await expect(page.getByTestId('toast-error').last()).toContainText('cut.nii.gz');
  await expect(page.getByTestId('study-info')).toContainText('embedded sample');
});
