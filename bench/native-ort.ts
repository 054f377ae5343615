/**
 * Native onnxruntime-node, the benchmark's CPU reference, installed on first use into bench/.native
 * (git-ignored) instead of being a devDependency: its postinstall reaches outside the npm registry, which
 * would make `npm ci` fail on a machine that reaches only the registry. Only `npm run bench` needs it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as ortw from 'onnxruntime-web';

/** Both packages export onnxruntime-common's API; the bench drives either through this one shape. */
export type OrtLike = typeof ortw;

export type NativeOrt =
  | { readonly ok: true; readonly ort: OrtLike; readonly version: string }
  | { readonly ok: false; readonly reason: string };

const PREFIX = fileURLToPath(new URL('.native', import.meta.url));
const PACKAGE_DIR = join(PREFIX, 'node_modules', 'onnxruntime-node');

/** `name` and `version` of a package.json, or null when it is missing or unreadable. */
function readPackage(file: string): { name: unknown; version: unknown } | null {
  try {
    const { name, version } = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
    return { name, version };
  } catch {
    return null;
  }
}

function installedVersion(dir: string, name: string): string | null {
  const p = readPackage(join(dir, 'package.json'));
  return p?.name === name && typeof p.version === 'string' ? p.version : null;
}

/** The installed onnxruntime-web's exact version (its package.json is not in its `exports`). */
function webVersion(): string {
  let dir = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  for (;;) {
    const v = installedVersion(dir, 'onnxruntime-web');
    if (v) return v;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the version of the installed onnxruntime-web');
    dir = up;
  }
}

function npmInstall(spec: string, log: (m: string) => void): Promise<void> {
  log(`installing ${spec} into ${PREFIX} (first use; CPU only)`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      'npm',
      ['install', '--no-audit', '--no-fund', '--no-save', '--no-package-lock', '--prefix', PREFIX, spec],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        // The package bundles its CPU binaries; its postinstall would only fetch the optional CUDA ones,
        // from outside the npm registry (api.nuget.org), and fail where only the registry is reachable.
        // Set for this child alone: the rest of the bench and the user's shell are left as they are.
        env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
      },
    );
    let output = '';
    const keep = (b: Buffer) => {
      output = (output + b.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        // npm's first error lines say why (code, summary); the tail is mostly the log file's path.
        const lines = output.split('\n').map((l) => l.trim());
        const errors = lines.filter((l) => /^npm (error|ERR!) \S/.test(l)).slice(0, 4);
        const why = (errors.length ? errors : lines.filter(Boolean).slice(-4)).join(' | ');
        reject(new Error(`npm install ${spec} exited with ${String(code ?? signal)}: ${why}`));
      }
    });
  });
}

/**
 * onnxruntime-node at the same version as onnxruntime-web, installing it into bench/.native when it is
 * missing or at another version. Never throws: on failure it says why, and the bench reports the native
 * figures as unavailable.
 */
export async function loadNativeOrt(log: (m: string) => void): Promise<NativeOrt> {
  try {
    const version = webVersion();
    if (installedVersion(PACKAGE_DIR, 'onnxruntime-node') !== version)
      await npmInstall(`onnxruntime-node@${version}`, log);
    const installed = installedVersion(PACKAGE_DIR, 'onnxruntime-node');
    if (installed !== version)
      throw new Error(`expected onnxruntime-node ${version} in ${PREFIX}, found ${installed ?? 'none'}`);
    const mod: unknown = createRequire(join(PREFIX, 'package.json'))('onnxruntime-node');
    if (!isOrt(mod))
      throw new Error('onnxruntime-node loaded but does not export InferenceSession and Tensor');
    return { ok: true, ort: mod, version };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

function isOrt(m: unknown): m is OrtLike {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as { InferenceSession?: { create?: unknown }; Tensor?: unknown };
  return typeof o.InferenceSession?.create === 'function' && typeof o.Tensor === 'function';
}
