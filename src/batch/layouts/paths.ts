/**
 * Path plumbing shared by the layout detectors: normalisation, hidden-file filtering, the common root,
 * file-name parts, natural ordering, a tiny glob and modality words in names.
 */
import { AppError } from '../../core/errors';
import type { Modality } from '../../core/image/types';
import type { DatasetFile } from './types';

/** One usable (non-hidden) file with its path taken apart. */
export interface Entry {
  readonly file: DatasetFile;
  /** The path exactly as given: what plans refer to. */
  readonly path: string;
  /** '/'-separated, no leading './' or '/', no empty segments. */
  readonly norm: string;
  /** `norm` without the common leading folder (the dropped root), when there is one. */
  readonly rel: string;
  readonly segs: readonly string[];
  /** File name. */
  readonly base: string;
  /** Folder part of `norm` ('' at the top). */
  readonly dir: string;
  /** Name of the folder holding the file ('' at the top). */
  readonly parent: string;
  readonly stem: string;
  /** Lower-case extension without the dot; 'nii.gz' counts as one. */
  readonly ext: string;
}

export interface FileSet {
  readonly entries: readonly Entry[];
  /** Hidden and system files (.DS_Store, ._*, __MACOSX, Thumbs.db), ignored silently. */
  readonly hidden: number;
  /** The stripped common leading folder, or undefined. */
  readonly root: string | undefined;
  readonly byNorm: ReadonlyMap<string, Entry>;
  /** By the path as given. */
  readonly byPath: ReadonlyMap<string, Entry>;
}

const SYSTEM_FILES = new Set(['thumbs.db', 'desktop.ini', 'icon\r']);

export function normalizePath(p: string): string {
  return p
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

export function isHiddenPath(norm: string): boolean {
  return norm
    .split('/')
    .some((s) => s.startsWith('.') || s === '__MACOSX' || SYSTEM_FILES.has(s.toLowerCase()));
}

const MULTI_EXT = /\.(nii\.gz|seg\.nrrd|tar\.gz)$/i;

export function splitName(base: string): { stem: string; ext: string } {
  const multi = MULTI_EXT.exec(base);
  if (multi?.[1] !== undefined) return { stem: base.slice(0, multi.index), ext: multi[1].toLowerCase() };
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return { stem: base, ext: '' };
  return { stem: base.slice(0, dot), ext: base.slice(dot + 1).toLowerCase() };
}

function dirOf(norm: string): string {
  const slash = norm.lastIndexOf('/');
  return slash < 0 ? '' : norm.slice(0, slash);
}

export function baseOf(norm: string): string {
  const slash = norm.lastIndexOf('/');
  return slash < 0 ? norm : norm.slice(slash + 1);
}

/** Joins folder parts, skipping empty ones. */
export function joinPath(...parts: readonly string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

export function buildFileSet(files: readonly DatasetFile[], rootName?: string): FileSet {
  const seen = new Set<string>();
  const kept: { file: DatasetFile; norm: string }[] = [];
  let hidden = 0;
  for (const file of files) {
    const norm = normalizePath(file.path);
    if (norm === '') {
      throw new AppError(
        'invalid-argument',
        `A dropped file has an empty path ("${file.path}"). Drop the folder itself, not loose files.`,
        { subject: file.path },
      );
    }
    if (isHiddenPath(norm)) {
      hidden++;
      continue;
    }
    if (seen.has(norm)) continue;
    seen.add(norm);
    kept.push({ file, norm });
  }
  const root = commonRoot(
    kept.map((k) => k.norm),
    rootName,
  );
  const entries = kept.map(({ file, norm }): Entry => {
    const base = baseOf(norm);
    const dir = dirOf(norm);
    const { stem, ext } = splitName(base);
    return {
      file,
      path: file.path,
      norm,
      rel: root === undefined ? norm : norm.slice(root.length + 1),
      segs: norm.split('/'),
      base,
      dir,
      parent: baseOf(dir),
      stem,
      ext,
    };
  });
  return {
    entries,
    hidden,
    root,
    byNorm: new Map(entries.map((e) => [e.norm, e])),
    byPath: new Map(entries.map((e) => [e.path, e])),
  };
}

/**
 * The leading folder all files share (the dropped root), stripped once. When the caller names the root and
 * the paths do not start with it, nothing is stripped: the shared folder is then part of the dataset.
 */
function commonRoot(norms: readonly string[], rootName: string | undefined): string | undefined {
  let first: string | undefined;
  for (const n of norms) {
    const slash = n.indexOf('/');
    if (slash < 0) return undefined;
    const top = n.slice(0, slash);
    if (first === undefined) first = top;
    else if (top !== first) return undefined;
  }
  if (first === undefined) return undefined;
  if (rootName !== undefined && normalizePath(rootName) !== first) return undefined;
  return first;
}

/** Natural order: digit runs compare as numbers ("2" < "10"); then case-insensitive; then exact. */
export function naturalCompare(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  const n = Math.min(ra.length, rb.length);
  for (let i = 0; i < n; i++) {
    const x = ra[i] ?? '';
    const y = rb[i] ?? '';
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const tx = x.replace(/^0+/, '');
      const ty = y.replace(/^0+/, '');
      if (tx.length !== ty.length) return tx.length - ty.length;
      if (tx !== ty) return tx < ty ? -1 : 1;
      if (x.length !== y.length) return x.length - y.length;
      continue;
    }
    const lx = x.toLowerCase();
    const ly = y.toLowerCase();
    if (lx !== ly) return lx < ly ? -1 : 1;
  }
  if (ra.length !== rb.length) return ra.length - rb.length;
  return a === b ? 0 : a < b ? -1 : 1;
}

export const VOLUME_EXTS: ReadonlySet<string> = new Set(['nii.gz', 'nii', 'mha', 'mhd', 'nrrd', 'seg.nrrd']);
export const RASTER_EXTS: ReadonlySet<string> = new Set(['png', 'jpg', 'jpeg']);
/** Everything the app reads as an image or label file (DICOM handled separately). */
export const IMAGE_EXTS: ReadonlySet<string> = new Set([...VOLUME_EXTS, ...RASTER_EXTS]);
/** MetaImage data files, read through their .mhd header. */
export const MHD_DATA_EXTS: ReadonlySet<string> = new Set(['raw', 'zraw']);

export function isDicomName(e: Entry): boolean {
  return e.ext === 'dcm' || e.ext === 'dicom' || e.ext === 'ima' || e.ext === '' || /^\d+$/.test(e.ext);
}

/**
 * The owner of `name` among names it may start with: the longest `prefix` such that `name` is
 * `prefix + separator + rest` and `lookup(prefix)` knows it. Linear in the name's length.
 */
export function longestPrefixOwner<T>(
  name: string,
  separators: readonly string[],
  lookup: (prefix: string) => T | undefined,
): { value: T; rest: string } | undefined {
  for (let i = name.length - 2; i > 0; i--) {
    if (!separators.includes(name[i] ?? '')) continue;
    const value = lookup(name.slice(0, i));
    if (value !== undefined) return { value, rest: name.slice(i + 1) };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Glob

/**
 * A tiny glob, matched against the whole path: `*` = any characters within one folder name, `**` = any
 * number of folders (also none), `?` = one character other than '/'. Case-insensitive.
 */
export function globToRegExp(glob: string): RegExp {
  const g = normalizePath(glob.trim());
  if (g === '') {
    throw new AppError(
      'invalid-argument',
      'The file pattern is empty. Enter a pattern such as images/*.png.',
    );
  }
  let re = '';
  let i = 0;
  while (i < g.length) {
    const c = g[i] ?? '';
    if (c === '*') {
      if (g[i + 1] === '*') {
        const atStart = i === 0 || g[i - 1] === '/';
        const slashAfter = g[i + 2] === '/';
        if (atStart && slashAfter) {
          re += '(?:[^/]*/)*';
          i += 3;
        } else if (atStart && i + 2 === g.length) {
          re += '.*';
          i += 2;
        } else {
          // `a**b` inside a name: as good as any characters (folders included).
          re += '.*';
          i += 2;
        }
      } else {
        re += '[^/]*';
        i += 1;
      }
    } else if (c === '?') {
      re += '[^/]';
      i += 1;
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      i += 1;
    }
  }
  return new RegExp(`^${re}$`, 'i');
}

/** Characters of a pattern that are not wildcards: the more, the more specific. */
export function globSpecificity(glob: string): number {
  return glob.replace(/[*?]/g, '').length;
}

// ---------------------------------------------------------------------------------------------------------
// Modality words

const CT_WORDS = new Set(['ct', 'cta', 'cect', 'ncct', 'computedtomography']);
const MR_WORDS = new Set([
  'mr',
  'mri',
  'mra',
  't1',
  't1w',
  't1c',
  't1ce',
  't1gd',
  't2',
  't2w',
  'flair',
  'adc',
  'dwi',
  'pd',
  'pdw',
  'magneticresonance',
]);
const US_WORDS = new Set(['us', 'ultrasound', 'sonography', 'echo', 'echocardiography']);

/** Words of a name: runs of letters and digits, lower-case; `ct2d`/`mr3d` lose their 2d/3d tail. */
function words(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w.replace(/(?<=[a-z])[23]d$/, ''));
}

/** The modality a name spells out (whole words only), or null when it names none or several. */
export function modalityFromWords(name: string): Modality | null {
  const found = new Set<Modality>();
  const ws = words(name);
  // Multi-word spellings ("computed tomography", "magnetic resonance").
  const joined = ws.join('');
  if (joined.includes('computedtomography')) found.add('CT');
  if (joined.includes('magneticresonance')) found.add('MR');
  for (const w of ws) {
    if (CT_WORDS.has(w)) found.add('CT');
    else if (MR_WORDS.has(w)) found.add('MR');
    else if (US_WORDS.has(w)) found.add('US');
  }
  if (found.size !== 1) return null;
  const [only] = found;
  return only ?? null;
}

/** A dataset.json modality/channel string (CT, MRI, T2, ADC, FLAIR, US, ultrasound…) → Modality. */
export function modalityFromChannelName(name: string): Modality | null {
  return modalityFromWords(name);
}
