import { expect, test } from './fixtures';

test('the app shell opens with both panes, the side panel and the backend it will run', async ({
  page,
  problems,
}) => {
  await page.goto('/');
  await expect(page.getByTestId('pane-sam')).toContainText('SAM');
  await expect(page.getByTestId('pane-sam2')).toContainText('SAM 2');
  await expect(page.getByTestId('side-panel')).toBeVisible();
  await expect(page.getByTestId('backend-provider')).toHaveText(/WebGPU|WebAssembly/);
  // Served with COOP/COEP, so threads are available.
  await expect(page.getByTestId('backend-isolation')).toHaveText('cross-origin isolated');
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  const threads = await page.evaluate(() => navigator.hardwareConcurrency);
  await expect(page.getByTestId('backend-threads')).toHaveText(
    `${threads} thread${threads === 1 ? '' : 's'}`,
  );
  await page.getByTestId('tab-batch').click();
  await expect(page.getByTestId('batch-view')).toBeVisible();
  expect(problems.errors).toEqual([]);
});

test('reports WebAssembly with a notice when the browser has no WebGPU', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  await page.goto('/');
  await expect(page.getByTestId('backend-provider')).toHaveText('WebAssembly');
  await expect(page.getByTestId('provider-select').locator('option[value=webgpu]')).toBeDisabled();
  await expect(page.getByTestId('backend-webgpu')).toContainText('none');
  await expect(page.getByTestId('backend-notices')).toContainText('WebGPU unavailable');
});
