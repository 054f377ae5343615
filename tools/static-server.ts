/**
 * A minimal static server for the production build, used by e2e tests that need the app served
 * WITHOUT cross-origin isolation headers (to prove the one-thread fallback). Loopback only.
 *
 *   npx tsx tools/static-server.ts --port 4175 --dir dist [--isolate]
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.md': 'text/markdown; charset=utf-8',
  '.map': 'application/json',
};

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const port = Number(arg('--port', '4175'));
const dir = resolve(arg('--dir', 'dist'));
const isolate = process.argv.includes('--isolate');

createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  let path = normalize(join(dir, decodeURIComponent(url.pathname)));
  if (!path.startsWith(dir)) {
    res.writeHead(403).end();
    return;
  }
  try {
    if (statSync(path).isDirectory()) path = join(path, 'index.html');
    const st = statSync(path);
    res.writeHead(200, {
      'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
      'content-length': String(st.size),
      ...(isolate
        ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
        : {}),
    });
    createReadStream(path).pipe(res);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}).listen(port, '127.0.0.1', () => {
  console.log(
    `static ${dir} on http://127.0.0.1:${port}${isolate ? ' (isolated)' : ' (NOT cross-origin isolated)'}`,
  );
});
