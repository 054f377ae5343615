import { defineConfig } from '@playwright/test';

const PORT = 4173;
/** The stand-in for the model hub (tools/model-host.ts) and a server without COOP/COEP. */
export const MODEL_HOST = 'http://127.0.0.1:4174';
export const UNISOLATED = 'http://127.0.0.1:4175';
/** Chromium comes from Debian (`apt-get install chromium`); Playwright never downloads a browser here. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    viewport: { width: 1440, height: 900 },
    launchOptions: {
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
        '--enable-unsafe-webgpu',
      ],
    },
    trace: 'retain-on-failure',
  },
  webServer: [
    {
      // The production build, served with the production headers (tools/security-headers.ts).
      // With the production CSP, allowing the fixture model host, and collecting violation reports.
      command: `npx vite preview --host 127.0.0.1 --port ${PORT} --strictPort`,
      env: { CSP_REPORT: '1', CSP_MODEL_ORIGINS: MODEL_HOST },
      url: `http://127.0.0.1:${PORT}`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
    {
      command: 'npx tsx tools/model-host.ts --port 4174',
      url: `${MODEL_HOST}/__requests`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
    {
      command: 'npx tsx tools/static-server.ts --port 4175 --dir dist',
      url: `${UNISOLATED}/index.html`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
  ],
});
