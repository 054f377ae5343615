/**
 * Image + segmentation side by side in one folder, the shape of example and reference folders such as
 * TotalSegmentator's `tests/reference_files` (`example_ct_sm.nii.gz` + `example_seg.nii.gz`, or a DICOM
 * series folder + `example_seg_dicom.nii.gz`): in each folder, one image (a volume file, or a DICOM
 * series in a sub-folder) and one label-named volume make a case named after the folder.
 */
import type { Modality } from '../../core/image/types';
import type { Detector } from './assemble';
import { baseOf, isDicomName, modalityFromWords, naturalCompare, VOLUME_EXTS, type Entry } from './paths';
import type { CasePlan } from './types';

const LABEL_WORDS =
  /(^|[_\-.])(seg|segmentation|label|labels|mask|gt|ground[_-]?truth|annotation)([_\-.]|$)/i;

export const detectFolderPairs: Detector = (fs) => {
  const byDir = new Map<string, Entry[]>();
  for (const e of fs.entries) byDir.set(e.dir, [...(byDir.get(e.dir) ?? []), e]);
  const cases: CasePlan[] = [];
  for (const [dir, entries] of [...byDir].sort((a, b) => naturalCompare(a[0], b[0]))) {
    const volumes = entries.filter((e) => VOLUME_EXTS.has(e.ext));
    const labels = volumes.filter((e) => LABEL_WORDS.test(e.stem));
    const images = volumes.filter((e) => !LABEL_WORDS.test(e.stem));
    if (labels.length !== 1) continue;
    const label = labels[0];
    if (!label) continue;
    let image: string[] | null = null;
    if (images.length === 1 && images[0]) image = [images[0].path];
    else if (images.length === 0) {
      // A DICOM series in one sub-folder beside the label file.
      const subs = [...byDir.keys()].filter(
        (d) =>
          d.startsWith(`${dir}${dir ? '/' : ''}`) &&
          d.slice(dir.length + (dir ? 1 : 0)).split('/').length === 1 &&
          d !== dir,
      );
      const series = subs.map((d) => (byDir.get(d) ?? []).filter(isDicomName)).filter((s) => s.length > 0);
      if (series.length === 1 && series[0]) image = series[0].map((e) => e.path).sort(naturalCompare);
    }
    if (!image) continue;
    const name = baseOf(dir) || label.stem;
    const modality: Modality | null =
      modalityFromWords(`${dir}/${image[0] ?? ''}`) ?? modalityFromWords(label.stem);
    cases.push({
      id: name,
      modality,
      image,
      labels: { kind: 'labelmap', path: label.path },
      labelTable: null,
      notes: modality
        ? []
        : [
            'Modality not named in the folder or file names: it is guessed from the intensities (CT has air near −1000 HU).',
          ],
    });
  }
  if (cases.length === 0) return Promise.resolve(null);
  return Promise.resolve({
    layout: 'folder-pairs',
    defaultName: 'dataset',
    cases,
    skipped: [],
    consumed: [],
    notes: [
      'Each folder holds one image (or DICOM series) and one segmentation; label names follow the segmentation’s label table (TotalSegmentator `total`/`total_mr` when the values fit).',
    ],
    expected: 'one image and one segmentation (seg/label/mask in the name) per folder',
  });
};
