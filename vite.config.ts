import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { ISOLATION_HEADERS, modelOriginsFromEnv, productionHeaders } from './tools/security-headers.ts';

/**
 * Cross-origin isolation is what lets onnxruntime-web use threads (SharedArrayBuffer): without these
 * headers ORT silently runs one thread. Dev sends only those (its HMR preamble is an inline script);
 * preview — the production build — sends the full production set including the CSP
 * (tools/security-headers.ts; docs/deployment.md has the nginx equivalent).
 */
const CSP_REPORT_PATH = '/__csp-report';
const collectCspReports = process.env['CSP_REPORT'] === '1';
const previewHeaders = productionHeaders(
  modelOriginsFromEnv(process.env),
  collectCspReports ? CSP_REPORT_PATH : undefined,
);

/**
 * With CSP_REPORT=1 (the e2e suite), preview collects the browser's CSP violation reports — including those
 * from workers, which a page listener cannot see — and lists them at GET /__csp-reports.
 */
function cspReportCollector(): Plugin {
  const reports: unknown[] = [];
  return {
    name: 'csp-report-collector',
    configurePreviewServer(server) {
      if (!collectCspReports) return;
      server.middlewares.use((req, res, next) => {
        if (req.url === CSP_REPORT_PATH && req.method === 'POST') {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              reports.push(JSON.parse(text));
            } catch {
              reports.push(text);
            }
            res.statusCode = 204;
            res.end();
          });
          return;
        }
        if (req.url === '/__csp-reports') {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(reports));
          return;
        }
        next();
      });
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [react(), cspReportCollector()],
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: previewHeaders },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    rolldownOptions: { input: { main: 'index.html', bench: 'bench.html' } },
    sourcemap: true,
    chunkSizeWarningLimit: 4096,
  },
  optimizeDeps: {
    // Without pre-bundling these CommonJS codecs, Cornerstone's setStack hangs in dev (stack-notes.md).
    // src/codecs/ imports the first four (openjph decodes HTJ2K); their .wasm come as `?url` assets.
    include: [
      '@cornerstonejs/codec-charls/decodewasmjs',
      '@cornerstonejs/codec-openjpeg/decodewasmjs',
      '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs',
      '@cornerstonejs/codec-openjph/wasmjs',
      '@cornerstonejs/codec-libjxl/decodewasmjs',
    ],
    exclude: ['onnxruntime-web'],
  },
});
