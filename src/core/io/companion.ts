/** Detached headers (NRRD .nhdr, MetaImage .mhd) name a data file that must be among the files given. */
import type { InputFile } from './types';

function baseName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] ?? p;
}

/** The companion file called `wanted` (by base name; exact case first). */
export function findCompanion(files: readonly InputFile[], wanted: string): InputFile | undefined {
  const b = baseName(wanted);
  return (
    files.find((f) => baseName(f.name) === b) ??
    files.find((f) => baseName(f.name).toLowerCase() === b.toLowerCase())
  );
}
