/**
 * Compressed streams inflated in chunks under the read budget: gzip (NIfTI .nii.gz, NRRD), and zlib or raw
 * deflate (MetaImage, deflated DICOM). A stream cut short is a 'truncated-file', other damage 'corrupt-file'.
 */
import { Gunzip, Inflate, Unzlib } from 'fflate';
import { AppError, toAppError } from '../errors';
import { checkBudget } from './budget';
import type { ReadOptions } from './types';

export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/**
 * Inflates a gzip stream in chunks. `peek` sees the first `peekBytes` of output (a header) and returns the
 * total output size it declares, which is checked against the budget before the rest is inflated.
 */
export function gunzipChecked(
  b: Uint8Array,
  what: string,
  opts: ReadOptions,
  peekBytes = 0,
  peek?: (head: Uint8Array) => number,
): Uint8Array {
  // A whole gzip member is at least 20 bytes (10-byte header, an empty deflate block, 8-byte trailer);
  // fflate returns nothing, and no error, for a stream cut inside its header.
  const gzipStart = (b.length < 1 || b[0] === 0x1f) && (b.length < 2 || b[1] === 0x8b);
  if (b.length < 20 && gzipStart) throw truncated(what, `${b.length} bytes`);
  const parts: Uint8Array[] = [];
  let size = 0;
  let checked = peekBytes === 0 || !peek;
  let error: unknown = null;
  const g = new Gunzip((chunk) => {
    parts.push(chunk);
    size += chunk.length;
    if (!checked && size >= peekBytes) {
      checked = true;
      try {
        const declared = peek?.(concat(parts, size).subarray(0, peekBytes)) ?? 0;
        checkBudget(declared, what, opts);
      } catch (e) {
        error = e;
      }
    }
  });
  const STEP = 1 << 16;
  try {
    for (let o = 0; o < b.length && !error; o += STEP)
      g.push(b.subarray(o, Math.min(b.length, o + STEP)), o + STEP >= b.length);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/unexpected EOF/i.test(msg)) throw truncated(what, msg, e);
    throw new AppError('corrupt-file', `${what} is not a valid gzip stream (${msg}).`, {
      subject: what,
      cause: e,
    });
  }
  if (error) throw toAppError(error, 'corrupt-file', what);
  checkBudget(size, what, opts);
  return concat(parts, size);
}

/** A compressed stream cut short, whichever the wrapper. */
function truncated(what: string, detail: string, cause?: unknown): AppError {
  return new AppError(
    'truncated-file',
    `${what}: the compressed data is cut short (truncated). Copy the file again from its source.`,
    { subject: what, detail, ...(cause === undefined ? {} : { cause }) },
  );
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1 && parts[0]) return parts[0];
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Inflates zlib-wrapped or raw deflate data in chunks, refusing output beyond the budget as it grows.
 * A stream cut short is a 'truncated-file', any other damage 'corrupt-file'.
 */
export function inflateChecked(
  b: Uint8Array,
  what: string,
  opts: ReadOptions,
  wrapper: 'zlib' | 'raw',
): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  let error: unknown = null;
  const onData = (chunk: Uint8Array) => {
    if (error) return;
    size += chunk.length;
    try {
      checkBudget(size, what, opts);
      parts.push(chunk);
    } catch (e) {
      error = e;
    }
  };
  const stream = wrapper === 'zlib' ? new Unzlib(onData) : new Inflate(onData);
  const STEP = 1 << 16;
  try {
    if (b.length === 0) stream.push(new Uint8Array(0), true);
    for (let o = 0; o < b.length && !error; o += STEP)
      stream.push(b.subarray(o, Math.min(b.length, o + STEP)), o + STEP >= b.length);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/unexpected EOF/i.test(msg)) throw truncated(what, msg, e);
    throw new AppError(
      'corrupt-file',
      `${what}: the compressed data is damaged (${msg}). Copy the file again from its source.`,
      { subject: what, detail: msg, cause: e },
    );
  }
  if (error) throw toAppError(error, 'size-budget', what);
  return concat(parts, size);
}
