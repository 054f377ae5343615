/** Plans from a manual mapping: the "unrecognised folder" dialog's image and mask patterns. */
import { AppError } from '../../core/errors';
import type { Modality } from '../../core/image/types';
import { finishPlan } from './assemble';
import { structureName } from './images-masks';
import {
  MHD_DATA_EXTS,
  buildFileSet,
  globSpecificity,
  globToRegExp,
  longestPrefixOwner,
  naturalCompare,
  type Entry,
} from './paths';
import type { CasePlan, DatasetFile, DatasetPlan, ManualMapping, SkippedFile } from './types';

const MODALITIES: readonly Modality[] = ['CT', 'MR', 'US', 'OT'];
const SEPARATORS = ['_', '-', '.', ' '];

export function planFromMapping(files: readonly DatasetFile[], m: ManualMapping): DatasetPlan {
  if (!MODALITIES.includes(m.modality)) {
    throw new AppError('invalid-argument', `Unknown modality "${m.modality}". Choose CT, MR, US or OT.`);
  }
  const imageRe = globToRegExp(m.imageGlob);
  const maskRe = globToRegExp(m.maskGlob);
  const fs = buildFileSet(files);
  if (fs.entries.length === 0) {
    throw new AppError(
      'invalid-argument',
      'The dropped folder holds no files. Drop the dataset folder itself.',
    );
  }
  const maskWinsTies = globSpecificity(m.maskGlob) >= globSpecificity(m.imageGlob);
  const matches = (re: RegExp, e: Entry): boolean => re.test(e.rel) || re.test(e.norm);

  const images: Entry[] = [];
  const masks: Entry[] = [];
  const skipped: SkippedFile[] = [];
  const consumed: string[] = [];
  for (const e of fs.entries) {
    const isImage = matches(imageRe, e);
    const isMask = matches(maskRe, e);
    if (MHD_DATA_EXTS.has(e.ext) && (isImage || isMask)) continue; // read through its .mhd header
    if (isImage && isMask) (maskWinsTies ? masks : images).push(e);
    else if (isImage) images.push(e);
    else if (isMask) masks.push(e);
    else skipped.push({ path: e.path, reason: 'matched neither the image nor the mask pattern' });
  }

  const cases: CasePlan[] = [];
  const notes = [
    `Built from a manual mapping: images "${m.imageGlob}", masks "${m.maskGlob}", paired by ${m.pairBy}.`,
  ];
  const labelNames = m.valueNames !== undefined && m.valueNames.size > 0 ? m.valueNames : undefined;
  const byStem = (list: readonly Entry[]): Map<string, Entry[]> => {
    const out = new Map<string, Entry[]>();
    for (const e of list) out.set(e.stem, [...(out.get(e.stem) ?? []), e]);
    return out;
  };
  const imageStems = byStem(images);
  for (const [stem, list] of imageStems) {
    if (list.length > 1) {
      for (const e of list) {
        skipped.push({
          path: e.path,
          reason: `${list.length} images are named "${stem}": pairing by name is ambiguous`,
        });
      }
    }
  }
  const uniqueImages = images.filter((e) => (imageStems.get(e.stem)?.length ?? 0) === 1);

  if (m.pairBy === 'same-stem') {
    const maskStems = byStem(masks);
    for (const [stem, list] of maskStems) {
      const img = imageStems.get(stem);
      if (img === undefined) {
        for (const e of list)
          skipped.push({ path: e.path, reason: 'mask without an image of the same name' });
      } else if (list.length > 1) {
        for (const e of list) {
          skipped.push({
            path: e.path,
            reason: `${list.length} masks are named "${stem}": pairing by name is ambiguous`,
          });
        }
      }
    }
    for (const e of uniqueImages) {
      const mk = maskStems.get(e.stem);
      const mask = mk?.length === 1 ? mk[0] : undefined;
      if (mask === undefined) {
        if (mk === undefined)
          skipped.push({ path: e.path, reason: 'no mask of the same name matched the mask pattern' });
        else skipped.push({ path: e.path, reason: 'several masks of the same name: pairing is ambiguous' });
        continue;
      }
      cases.push({
        id: e.stem,
        modality: m.modality,
        image: [e.path],
        labels: { kind: 'labelmap', path: mask.path },
        labelTable: null,
        ...(labelNames === undefined ? {} : { labelNames }),
      });
    }
  } else {
    const byName = new Map(uniqueImages.map((e) => [e.stem, e]));
    const own = new Map<Entry, Entry[]>();
    for (const mk of masks) {
      const owner =
        byName.get(mk.stem) ?? longestPrefixOwner(mk.stem, SEPARATORS, (n) => byName.get(n))?.value;
      if (owner === undefined) {
        skipped.push({ path: mk.path, reason: 'mask without an image whose name starts its name' });
        continue;
      }
      const list = own.get(owner) ?? [];
      list.push(mk);
      own.set(owner, list);
    }
    for (const e of uniqueImages) {
      const list = own.get(e);
      if (list === undefined) {
        skipped.push({
          path: e.path,
          reason: 'no mask whose name starts with this image name matched the mask pattern',
        });
        continue;
      }
      const only = list.length === 1 ? list[0] : undefined;
      const base = { id: e.stem, modality: m.modality, image: [e.path], labelTable: null };
      if (only !== undefined && only.stem === e.stem) {
        cases.push({
          ...base,
          labels: { kind: 'labelmap', path: only.path },
          ...(labelNames === undefined ? {} : { labelNames }),
        });
        continue;
      }
      const files = list
        .map((mk) => ({
          path: mk.path,
          name: mk.stem === e.stem ? 'mask' : structureName(mk.stem.slice(e.stem.length + 1)),
        }))
        .sort((a, b) => naturalCompare(a.name, b.name) || naturalCompare(a.path, b.path));
      cases.push({ ...base, labels: { kind: 'per-structure', files } });
    }
  }
  if (images.length === 0) notes.push(`The image pattern "${m.imageGlob}" matched no file.`);
  if (masks.length === 0) notes.push(`The mask pattern "${m.maskGlob}" matched no file.`);
  return finishPlan(fs, undefined, {
    layout: 'images-masks',
    defaultName: 'mapped dataset',
    cases,
    skipped,
    consumed,
    notes,
    expected: `${m.imageGlob} / ${m.maskGlob}`,
    emptyNote:
      'No image was paired with a mask: check the patterns and the pairing rule against the file names.',
  });
}
