/**
 * Dataset-folder layout detection: from the paths of a dropped folder to a plan of cases (image files,
 * ground truth, label names, modality), with every other file listed as skipped and why.
 *
 * Detection is by folder structure and file names, most specific layout first; the dropped root folder
 * may or may not lead the paths. Only small metadata is read (dataset.json, the HC18 pixel-size csv).
 * Plans refer to files by their `path` exactly as given.
 */
import { AppError, toAppError } from '../core/errors';
import { finishPlan, LAYOUT_LABELS, type Detection, type Detector } from './layouts/assemble';
import { detectChaos } from './layouts/chaos';
import { detectImagesMasks } from './layouts/images-masks';
import { detectNnunet } from './layouts/nnunet';
import { detectFolderPairs } from './layouts/pairs';
import { buildFileSet, normalizePath } from './layouts/paths';
import { detectTotalSegmentator } from './layouts/totalseg';
import type { DatasetFile, DatasetPlan } from './layouts/types';
import { detectCamus, detectFhPsAop, detectHc18 } from './layouts/ultrasound';

export type {
  CasePlan,
  DatasetFile,
  DatasetPlan,
  LabelSource,
  LayoutId,
  ManualMapping,
  SkippedFile,
} from './layouts/types';
export { planFromMapping } from './layouts/mapping';
export { globToRegExp, naturalCompare } from './layouts/paths';
export { readerFiles } from './layouts/assemble';

/** Most specific first: distinctive folder names before generic images/masks pairs. */
const DETECTORS: readonly Detector[] = [
  detectChaos,
  detectTotalSegmentator,
  detectCamus,
  detectHc18,
  detectFhPsAop,
  detectNnunet,
  detectImagesMasks,
  detectFolderPairs,
];

export async function detectLayout(files: readonly DatasetFile[], rootName?: string): Promise<DatasetPlan> {
  const root = rootName === undefined || normalizePath(rootName) === '' ? undefined : normalizePath(rootName);
  const fs = buildFileSet(files, root);
  if (fs.entries.length === 0) {
    throw new AppError(
      'invalid-argument',
      fs.hidden > 0
        ? 'The dropped folder holds only hidden or system files (.DS_Store, ._*, __MACOSX). Drop the dataset folder itself.'
        : 'The dropped folder holds no files. Drop the dataset folder itself.',
    );
  }
  const found: Detection[] = [];
  const problems: string[] = [];
  for (const detect of DETECTORS) {
    try {
      const d = await detect(fs, root);
      if (d !== null) found.push(d);
    } catch (e) {
      // A broken file of a second, lower-priority layout must not sink the one already recognised.
      if (!found.some((d) => d.cases.length > 0)) throw e;
      problems.push(`Another layout in this folder could not be read: ${toAppError(e).message}`);
    }
  }
  const chosen = found.find((d) => d.cases.length > 0) ?? found[0];
  if (chosen === undefined) {
    return finishPlan(fs, root, {
      layout: 'unknown',
      defaultName: 'dataset',
      cases: [],
      skipped: fs.entries.map((e) => ({ path: e.path, reason: 'layout not recognised' })),
      consumed: [],
      notes: [
        'Could not recognise the folder layout (looked for nnU-Net/MSD/AMOS, TotalSegmentator, CHAOS, CAMUS, HC18, FH-PS-AOP and images/ + masks/ folders). Map images to masks with file patterns, for example images/*.png and masks/*.png.',
      ],
      expected: '',
    });
  }
  const extra = found
    .filter((d) => d !== chosen && d.cases.length > 0)
    .map(
      (d) =>
        `Also found ${d.cases.length} case(s) laid out like ${LAYOUT_LABELS[d.layout]}; they are skipped here. Drop that folder on its own to use them.`,
    );
  return finishPlan(fs, root, chosen, [...extra, ...problems]);
}
