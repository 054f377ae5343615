/**
 * TotalSegmentator v2: `sNNNN/ct.nii.gz` + `sNNNN/segmentations/<structure>.nii.gz`, one binary file per
 * structure named by the file. The MR release (`mri.nii.gz`) has the same shape.
 */
import type { Modality } from '../../core/image/types';
import type { Detector } from './assemble';
import { baseOf, naturalCompare, type Entry } from './paths';
import type { CasePlan, SkippedFile } from './types';

const IMAGE_NAMES: Readonly<Record<string, Modality>> = {
  'ct.nii.gz': 'CT',
  'ct.nii': 'CT',
  'mri.nii.gz': 'MR',
  'mri.nii': 'MR',
  'mr.nii.gz': 'MR',
  'mr.nii': 'MR',
};

export const detectTotalSegmentator: Detector = (fs, rootName) => {
  const segsByCase = new Map<string, Entry[]>();
  for (const e of fs.entries) {
    if (e.parent.toLowerCase() !== 'segmentations') continue;
    const caseDir = e.dir.slice(0, Math.max(0, e.dir.length - e.parent.length - 1));
    const list = segsByCase.get(caseDir) ?? [];
    list.push(e);
    segsByCase.set(caseDir, list);
  }
  if (segsByCase.size === 0) return Promise.resolve(null);
  const imagesByCase = new Map<string, Entry>();
  for (const e of fs.entries) {
    if (IMAGE_NAMES[e.base.toLowerCase()] !== undefined && segsByCase.has(e.dir)) imagesByCase.set(e.dir, e);
  }
  // Without a single ct.nii.gz beside a segmentations/ folder this is some other layout.
  if (imagesByCase.size === 0) return Promise.resolve(null);

  const cases: CasePlan[] = [];
  const skipped: SkippedFile[] = [];
  const modalities = new Set<Modality>();
  for (const [caseDir, segs] of [...segsByCase].sort((a, b) => naturalCompare(a[0], b[0]))) {
    const image = imagesByCase.get(caseDir);
    if (image === undefined) {
      for (const e of segs)
        skipped.push({ path: e.path, reason: `no image (ct.nii.gz) in ${caseDir || 'the top folder'}` });
      continue;
    }
    const files: { path: string; name: string }[] = [];
    for (const e of segs.sort((a, b) => naturalCompare(a.base, b.base))) {
      if (e.ext === 'nii.gz' || e.ext === 'nii') files.push({ path: e.path, name: e.stem });
      else
        skipped.push({
          path: e.path,
          reason: 'not a NIfTI mask (segmentations/ holds <structure>.nii.gz files)',
        });
    }
    if (files.length === 0) {
      skipped.push({ path: image.path, reason: 'no labels (segmentations/ holds no .nii.gz masks)' });
      continue;
    }
    const modality = IMAGE_NAMES[image.base.toLowerCase()] ?? 'CT';
    modalities.add(modality);
    cases.push({
      id: caseDir === '' ? (rootName ?? image.stem) : baseOf(caseDir),
      modality,
      image: [image.path],
      labels: { kind: 'per-structure', files },
      labelTable: null,
    });
  }
  // Images of subjects without segmentations/ (present in the official test split, or deleted).
  for (const e of fs.entries) {
    if (IMAGE_NAMES[e.base.toLowerCase()] !== undefined && !segsByCase.has(e.dir)) {
      skipped.push({ path: e.path, reason: 'no labels (no segmentations/ folder beside it)' });
    }
  }
  const notes = ['Structures are named by their mask file names (one binary mask per structure).'];
  if (modalities.has('MR')) notes.push('MR subjects (mri.nii.gz) found: TotalSegmentator MRI release.');
  return Promise.resolve({
    layout: 'totalsegmentator',
    defaultName: 'TotalSegmentator',
    cases,
    skipped,
    consumed: [],
    notes,
    expected: 'sNNNN/ct.nii.gz with sNNNN/segmentations/<structure>.nii.gz',
  });
};
