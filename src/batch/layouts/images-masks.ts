/**
 * Generic 2D pairs in sibling folders `images/` and `masks/` (or `labels/`):
 *   masks/<name>.png                     → one label map per image
 *   masks/<name>_<structure>_<k>.png     → one binary mask per structure (SAM-Med2D); components k of one
 *                                          structure share its name
 * Sub-folders below images/ are mirrored below masks/.
 */
import type { Modality } from '../../core/image/types';
import type { Detector } from './assemble';
import {
  IMAGE_EXTS,
  MHD_DATA_EXTS,
  longestPrefixOwner,
  modalityFromWords,
  naturalCompare,
  type Entry,
} from './paths';
import type { CasePlan, SkippedFile } from './types';

const IMAGE_DIRS = new Set(['images', 'image', 'imgs']);
const MASK_DIRS = new Set(['masks', 'mask', 'labels', 'label']);

interface Located {
  readonly e: Entry;
  /** Folder below images/ or masks/ ('' directly inside). */
  readonly sub: string;
}

/** Finds the images/ or masks/ folder nearest the file: the folder above it, the part below, its depth. */
function locate(
  e: Entry,
  names: ReadonlySet<string>,
): { top: string; sub: string; depth: number } | undefined {
  for (let i = e.segs.length - 2; i >= 0; i--) {
    if (names.has((e.segs[i] ?? '').toLowerCase())) {
      return { top: e.segs.slice(0, i).join('/'), sub: e.segs.slice(i + 1, -1).join('/'), depth: i };
    }
  }
  return undefined;
}

/** The structure part of a mask name after `<image>_`, its trailing 3-digit component index dropped. */
export function structureName(rest: string): string {
  const m = /^(.+)_\d{3}$/.exec(rest);
  if (m?.[1] !== undefined) return m[1];
  return /^\d{3}$/.test(rest) ? 'mask' : rest;
}

/** SAM-Med2D names start with the modality (`ct_00--…`, `mr_t1w--…`). */
function modalityFromStem(stem: string): Modality | null {
  const first = /^([a-z]+)[_-]/i.exec(stem)?.[1]?.toLowerCase();
  if (first === 'ct') return 'CT';
  if (first === 'mr' || first === 'mri') return 'MR';
  if (first === 'us') return 'US';
  return null;
}

export const detectImagesMasks: Detector = (fs, rootName) => {
  const images = new Map<string, Located[]>();
  const masks = new Map<string, Located[]>();
  for (const e of fs.entries) {
    if (MHD_DATA_EXTS.has(e.ext) || !IMAGE_EXTS.has(e.ext)) continue;
    const m = locate(e, MASK_DIRS);
    const i = locate(e, IMAGE_DIRS);
    // The nearer of the two folders decides (…/labels/images/x.png is an image).
    const useMask = m !== undefined && (i === undefined || m.depth > i.depth);
    const hit = useMask ? m : i;
    if (hit === undefined) continue;
    const target = useMask ? masks : images;
    const list = target.get(hit.top) ?? [];
    list.push({ e, sub: hit.sub });
    target.set(hit.top, list);
  }
  const tops = [...images.keys()].filter((t) => masks.has(t)).sort(naturalCompare);
  if (tops.length === 0) return Promise.resolve(null);

  const cases: CasePlan[] = [];
  const skipped: SkippedFile[] = [];
  const notes: string[] = [];
  let unknownModality = 0;
  const inferred = new Map<string, string>();
  for (const top of tops) {
    const imgs = images.get(top) ?? [];
    const msks = masks.get(top) ?? [];
    // Images by sub-folder and name; a mask belongs to the longest image name that starts its name, so
    // `s1_11` wins over `s1_1` for `s1_11_aorta_000`.
    const byKey = new Map<string, Entry>();
    const paired: Entry[] = [];
    for (const l of imgs) {
      const key = `${l.sub}/${l.e.stem}`;
      const other = byKey.get(key);
      if (other === undefined) {
        byKey.set(key, l.e);
        paired.push(l.e);
      } else
        skipped.push({
          path: l.e.path,
          reason: `another image has the same name (${other.base}); it is used`,
        });
    }
    const labelmap = new Map<Entry, Entry>();
    const parts = new Map<Entry, { path: string; name: string }[]>();
    for (const mk of msks) {
      const exact = byKey.get(`${mk.sub}/${mk.e.stem}`);
      if (exact !== undefined) {
        if (labelmap.has(exact)) {
          skipped.push({ path: mk.e.path, reason: `second label map for ${exact.base} (another format)` });
        } else labelmap.set(exact, mk.e);
        continue;
      }
      const owner = longestPrefixOwner(mk.e.stem, ['_'], (stem) => byKey.get(`${mk.sub}/${stem}`));
      if (owner === undefined) {
        skipped.push({
          path: mk.e.path,
          reason: 'mask without an image (no images/ file whose name starts its name)',
        });
        continue;
      }
      const list = parts.get(owner.value) ?? [];
      list.push({ path: mk.e.path, name: structureName(owner.rest) });
      parts.set(owner.value, list);
    }
    const topWords = [rootName ?? '', ...top.split('/')].filter((w) => w !== '');
    const folderModality = topWords.reduce<{ m: Modality; from: string } | null>((acc, w) => {
      const m = modalityFromWords(w);
      return m === null ? acc : { m, from: w };
    }, null);
    for (const e of paired) {
      const lm = labelmap.get(e);
      const ps = parts.get(e);
      if (lm === undefined && ps === undefined) {
        skipped.push({ path: e.path, reason: 'no labels (no mask named like it in the masks folder)' });
        continue;
      }
      if (lm !== undefined && ps !== undefined) {
        for (const p of ps) {
          skipped.push({
            path: p.path,
            reason: `${e.base} has a label map of the same name; per-structure masks are not used`,
          });
        }
      }
      const fromStem = modalityFromStem(e.stem);
      const modality = fromStem ?? folderModality?.m ?? null;
      if (modality === null) unknownModality++;
      else if (fromStem === null && folderModality !== null)
        inferred.set(folderModality.from, folderModality.m);
      const files = (ps ?? []).sort(
        (a, b) => naturalCompare(a.name, b.name) || naturalCompare(a.path, b.path),
      );
      cases.push({
        id: e.stem,
        modality,
        image: [e.path],
        labels: lm !== undefined ? { kind: 'labelmap', path: lm.path } : { kind: 'per-structure', files },
        labelTable: null,
      });
    }
  }
  for (const [from, m] of [...inferred].sort((a, b) => naturalCompare(a[0], b[0]))) {
    notes.push(`Modality ${m} taken from the folder name "${from}"; check it.`);
  }
  if (unknownModality > 0) {
    notes.push(
      `Modality unknown for ${unknownModality} case(s): choose CT, MR or US before running (it decides the intensity mapping).`,
    );
  }
  if (cases.some((c) => c.labels?.kind === 'per-structure')) {
    notes.push(
      'Structures are named by the mask file names; components (_000, _001) of one structure are merged.',
    );
  }
  if (cases.some((c) => c.labels?.kind === 'labelmap')) {
    notes.push('Label maps carry no names here: values are shown as "label N".');
  }
  return Promise.resolve({
    layout: 'images-masks',
    defaultName: 'images and masks',
    cases,
    skipped,
    consumed: [],
    notes,
    expected: 'images/<name>.png with masks/<name>.png or masks/<name>_<structure>_<k>.png',
  });
};
