/** Reading the small metadata files a layout relies on (dataset.json, the HC18 pixel-size csv). */
import { AppError, toAppError } from '../../core/errors';
import type { Entry } from './paths';

/** Metadata beyond this is not metadata: refuse rather than pull a large file into memory. */
export const MAX_METADATA_BYTES = 32 * 1024 * 1024;

export async function readText(e: Entry): Promise<string> {
  if (e.file.size > MAX_METADATA_BYTES) {
    throw new AppError(
      'size-budget',
      `${e.path} is ${Math.round(e.file.size / 1048576)} MiB, too large for a metadata file. Remove it from the folder or check that it is the right file.`,
      { subject: e.path },
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await e.file.read();
  } catch (err) {
    throw toAppError(err, 'corrupt-file', `Could not read ${e.path}`);
  }
  const text = new TextDecoder('utf-8').decode(bytes);
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

export async function readJson(e: Entry): Promise<unknown> {
  const text = await readText(e);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppError(
      'corrupt-file',
      `${e.path} is not valid JSON, so label names and modality cannot be read from it. Fix or remove the file, then drop the folder again.`,
      { subject: e.path, detail: err instanceof Error ? err.message : String(err), cause: err },
    );
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Splits one CSV line (quotes allowed, no newlines inside quotes). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? '';
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}
