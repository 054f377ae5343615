/**
 * What a detector returns, and how a detection becomes a plan: unique ids, natural order, and every file
 * accounted for (used by a case, read as metadata, or listed in `skipped` with a reason).
 */
import { IMAGE_EXTS, MHD_DATA_EXTS, joinPath, naturalCompare, type Entry, type FileSet } from './paths';
import type { CasePlan, DatasetPlan, LabelSource, LayoutId, SkippedFile } from './types';

export interface Detection {
  readonly layout: LayoutId;
  /** Name used when neither the caller nor the paths give a root folder name. */
  readonly defaultName: string;
  readonly cases: readonly CasePlan[];
  /** Files (or folders, see `coveredBy`) the detector recognised but could not use, with its reason. */
  readonly skipped: readonly SkippedFile[];
  /** Folder-level skips: every file under `folder` counts as reported by that one entry. */
  readonly skippedFolders?: readonly string[];
  /** Metadata the detector read (dataset.json, the HC18 csv): used, so not skipped. */
  readonly consumed: readonly string[];
  readonly notes: readonly string[];
  /** What image files of this layout look like, for the reason given to files that do not fit. */
  readonly expected: string;
  /** The note when no case came out (a default one says the layout was recognised). */
  readonly emptyNote?: string;
}

export type Detector = (fs: FileSet, rootName: string | undefined) => Promise<Detection | null>;

export function labelPaths(l: LabelSource | null): string[] {
  if (l === null) return [];
  switch (l.kind) {
    case 'labelmap':
    case 'outline':
      return [l.path];
    case 'per-structure':
      return l.files.map((f) => f.path);
    case 'png-stack':
      return [...l.paths];
  }
}

const DOC_EXTS = new Set(['md', 'txt', 'pdf', 'rst', 'html', 'htm', 'doc', 'docx', 'sha256', 'md5', 'sha1']);
const META_EXTS = new Set([
  'json',
  'csv',
  'tsv',
  'cfg',
  'xlsx',
  'xls',
  'yaml',
  'yml',
  'xml',
  'ini',
  'pkl',
  'npz',
]);
const DOC_NAMES = /^(readme|license|licence|copying|sha256sums|md5sums|checksums|citation)/i;

/** The reason for a file no detector used. */
export function leftoverReason(e: Entry, layoutLabel: string, expected: string): string {
  if (DOC_NAMES.test(e.base) || DOC_EXTS.has(e.ext)) return 'documentation or checksum file (not needed)';
  if (META_EXTS.has(e.ext)) return `metadata file the ${layoutLabel} layout does not use`;
  if (IMAGE_EXTS.has(e.ext) || e.ext === 'dcm') {
    return `image file that does not fit the ${layoutLabel} layout (expected ${expected})`;
  }
  return 'not an image or label file this app reads';
}

export const LAYOUT_LABELS: Readonly<Record<LayoutId, string>> = {
  nnunet: 'nnU-Net v2',
  msd: 'Medical Segmentation Decathlon',
  amos: 'AMOS',
  totalsegmentator: 'TotalSegmentator',
  chaos: 'CHAOS',
  camus: 'CAMUS',
  hc18: 'HC18',
  'fh-ps-aop': 'FH-PS-AOP',
  'images-masks': 'images/masks',
  'folder-pairs': 'image + segmentation per folder',
  unknown: 'unrecognised',
};

/** Turns a detection into a plan over all files of `fs`. */
export function finishPlan(
  fs: FileSet,
  rootName: string | undefined,
  d: Detection,
  extraNotes: readonly string[] = [],
): DatasetPlan {
  const cases = uniqueIds(fs, d.cases).map((c) => withImageDataFiles(fs, c));
  const used = new Set<string>(d.consumed);
  for (const c of cases) {
    for (const p of c.image) used.add(p);
    for (const p of labelPaths(c.labels)) used.add(p);
  }
  const skipped: SkippedFile[] = [];
  const reported = new Set<string>();
  for (const s of d.skipped) {
    if (reported.has(s.path) || used.has(s.path)) continue;
    reported.add(s.path);
    skipped.push(s);
  }
  const folders = (d.skippedFolders ?? []).map((f) => `${f}/`);
  const underSkippedFolder = (e: Entry): boolean => folders.some((f) => e.norm.startsWith(f));

  // MetaImage data files go with their header: used if it is used, skipped (same reason) if it is skipped.
  const headerOf = (e: Entry): Entry | undefined =>
    MHD_DATA_EXTS.has(e.ext) ? fs.byNorm.get(joinPath(e.dir, `${e.stem}.mhd`)) : undefined;
  const skipReason = new Map(skipped.map((s) => [s.path, s.reason]));
  const label = LAYOUT_LABELS[d.layout];
  for (const e of fs.entries) {
    if (used.has(e.path) || reported.has(e.path) || underSkippedFolder(e)) continue;
    if (MHD_DATA_EXTS.has(e.ext)) {
      const header = headerOf(e);
      if (header !== undefined && used.has(header.path)) continue;
      const headerReason = header === undefined ? undefined : skipReason.get(header.path);
      skipped.push({
        path: e.path,
        reason:
          header === undefined
            ? 'MetaImage data file without its .mhd header'
            : `data file of ${header.base}${headerReason === undefined ? '' : `, which is skipped: ${headerReason}`}`,
      });
      continue;
    }
    skipped.push({ path: e.path, reason: leftoverReason(e, label, d.expected) });
  }
  skipped.sort((a, b) => naturalCompare(a.path, b.path));

  const notes = [...d.notes, ...extraNotes];
  if (fs.hidden > 0) notes.push(`Ignored ${fs.hidden} hidden or system file(s) (.DS_Store, ._*, __MACOSX).`);
  if (cases.length === 0 && d.layout !== 'unknown') {
    notes.push(
      d.emptyNote ??
        `Recognised a ${label} layout but found no case with both an image and its labels; see the skipped files, or map images to masks by hand.`,
    );
  }
  return {
    layout: d.layout,
    name: rootName ?? fs.root ?? d.defaultName,
    cases,
    skipped,
    notes,
  };
}

/**
 * The files a reader needs for `path`: the path itself, and for a MetaImage .mhd header its .raw/.zraw data
 * file of the same name when present. `has` answers whether a path is in the dataset.
 */
export function readerFiles(path: string, has: (p: string) => boolean): string[] {
  const m = /^(.*)\.mhd$/i.exec(path);
  if (m?.[1] === undefined) return [path];
  const data = ['raw', 'zraw', 'RAW', 'ZRAW'].map((x) => `${m[1] ?? ''}.${x}`).find(has);
  return data === undefined ? [path] : [path, data];
}

/** A case whose image is a .mhd header also lists its data file: the MetaImage reader needs both. */
function withImageDataFiles(fs: FileSet, c: CasePlan): CasePlan {
  if (!c.image.some((p) => /\.mhd$/i.test(p))) return c;
  const image = [...new Set(c.image.flatMap((p) => readerFiles(p, (x) => fs.byPath.has(x))))];
  return { ...c, image };
}

/**
 * Makes case ids unique (two folders holding the same file name): a clashing id gets the image's folder
 * (root stripped) in front, and a counter if that still clashes. Then sorts by id, natural order.
 */
function uniqueIds(fs: FileSet, cases: readonly CasePlan[]): CasePlan[] {
  const count = new Map<string, number>();
  for (const c of cases) count.set(c.id, (count.get(c.id) ?? 0) + 1);
  const taken = new Set<string>();
  const out: CasePlan[] = [];
  const relDir = (p: string | undefined): string => {
    const e = p === undefined ? undefined : fs.byPath.get(p);
    if (e === undefined) return '';
    const slash = e.rel.lastIndexOf('/');
    return slash < 0 ? '' : e.rel.slice(0, slash);
  };
  const ordered = [...cases].sort(
    (a, b) => naturalCompare(a.id, b.id) || naturalCompare(a.image[0] ?? '', b.image[0] ?? ''),
  );
  for (const c of ordered) {
    let id = c.id;
    if ((count.get(id) ?? 0) > 1) id = joinPath(relDir(c.image[0]), c.id);
    let k = 2;
    const stem = id;
    while (taken.has(id)) id = `${stem}#${k++}`;
    taken.add(id);
    out.push(
      id === c.id
        ? c
        : { ...c, id, notes: [...(c.notes ?? []), `Renamed from "${c.id}": another case has that id.`] },
    );
  }
  return out.sort((a, b) => naturalCompare(a.id, b.id));
}
