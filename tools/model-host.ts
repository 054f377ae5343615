/**
 * A local stand-in for the model hub, for tests: serves the generated contract fixtures under the hub's
 * `{repo}/resolve/{revision}/{file}` layout for every real preset, with CORS and Range support, plus
 * fault injection under `/__fault/{kind}/…` (html, 404, 500, 500-once, truncate, stall, drop-once, no-range) and a
 * request log at `/__requests`. Loopback only.
 *
 *   npx tsx tools/model-host.ts --port 4174
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { MODEL_PRESETS, hubUrl } from '../src/core/models/registry';
import { presetFixture } from './fixtures/presets';

export type Fault =
  'html' | '404' | '500' | '500-once' | 'truncate' | 'stall' | 'drop-once' | 'no-range' | 'slow';

/** Every preset's files, each backed by the exact-contract fixture of that preset (tools/fixtures/presets.ts). */
export function hubFiles(): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const path = (repo: string, rev: string, f: string) =>
    new URL(hubUrl('http://h', repo, rev, f)).pathname.slice(1);
  for (const p of MODEL_PRESETS)
    for (const [f, bytes] of presetFixture(p).files) files.set(path(p.repo, p.revision, f), bytes);
  return files;
}

export interface ModelHost {
  readonly server: Server;
  readonly url: string;
  readonly requests: string[];
  close: () => Promise<void>;
}

export function startModelHost(port: number, files = hubFiles()): Promise<ModelHost> {
  const requests: string[] = [];
  const dropped = new Set<string>();
  const cors = {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': 'Range',
    'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Accept-Ranges',
    'Cross-Origin-Resource-Policy': 'cross-origin',
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors).end();
      return;
    }
    if (u.pathname === '/__requests') {
      res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify(requests));
      return;
    }
    if (u.pathname === '/__reset') {
      requests.length = 0;
      dropped.clear();
      res.writeHead(204, cors).end();
      return;
    }
    requests.push(`${req.method ?? 'GET'} ${u.pathname}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    let path = decodeURIComponent(u.pathname.slice(1));
    let fault: Fault | null = null;
    const m = /^__fault\/([a-z0-9-]+)\/(.*)$/.exec(path);
    if (m) {
      fault = m[1] as Fault;
      path = m[2] ?? '';
    }
    const body = files.get(path);
    if (fault === '404' || !body) {
      res.writeHead(404, { ...cors, 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    // 500-once: the first request after a reset fails, as a server that is briefly down.
    if (fault === '500' || (fault === '500-once' && !dropped.has('500-once'))) {
      if (fault === '500-once') dropped.add('500-once');
      res.writeHead(500, { ...cors, 'content-type': 'text/plain' }).end('Internal Server Error');
      return;
    }
    if (fault === 'html') {
      res
        .writeHead(200, { ...cors, 'content-type': 'text/html; charset=utf-8' })
        .end('<!doctype html><html><body><h1>Sign in to continue</h1></body></html>');
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range && fault !== 'no-range' ? Number(range[1]) : 0;
    const slice = body.subarray(start);
    const headers: Record<string, string> = {
      ...cors,
      'content-type': 'application/octet-stream',
      'accept-ranges': fault === 'no-range' ? 'none' : 'bytes',
      'content-length': String(slice.length),
    };
    if (start > 0) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    const half = Math.floor(slice.length / 2);
    if (fault === 'truncate') {
      res.write(slice.subarray(0, half));
      res.destroy();
      return;
    }
    if (fault === 'stall') {
      res.write(slice.subarray(0, half));
      // Never finish; the client's stall timer must fire. Closed when the server stops.
      return;
    }
    if ((fault === 'drop-once' || fault === 'no-range') && !dropped.has(path)) {
      dropped.add(path);
      res.write(slice.subarray(0, half), () => {
        // Give the client time to read the half before the reset discards unread data.
        setTimeout(() => res.destroy(), 200);
      });
      return;
    }
    if (fault === 'slow') {
      let o = 0;
      const step = Math.max(1024, Math.floor(slice.length / 20));
      const tick = () => {
        if (o >= slice.length) {
          res.end();
          return;
        }
        res.write(slice.subarray(o, o + step));
        o += step;
        setTimeout(tick, 50);
      };
      tick();
      return;
    }
    res.end(slice);
  });
  return new Promise((ok) => {
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      const p = typeof addr === 'object' && addr ? addr.port : port;
      ok({
        server,
        url: `http://127.0.0.1:${p}`,
        requests,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => {
              done();
            });
          }),
      });
    });
  });
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename);
if (isMain) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 4174;
  void startModelHost(port).then((h) => {
    console.log(`fixture model host on ${h.url}`);
  });
}
