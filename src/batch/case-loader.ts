/**
 * Reads one case of a dataset plan into a Study (image + ground truth on the same canonical grid).
 * Image reading is injected (`readImage`), so DICOM series, MetaImage pairs and single files all go
 * through the project's core readers without this module knowing their formats.
 */
import { AppError } from '../core/errors';
import type { InputFile, ReadResult } from '../core/io/types';
import { LABEL_TABLES, snapChaosMr, type LabelTable, type LabelTableId } from '../core/io/labels';
import { fillIfOutline, withPixelSpacing } from '../core/io/open';
import { assembleStudy, type Study } from '../core/io/study';
import { readerFiles } from './layouts/assemble';
import type { CasePlan, DatasetFile } from './layouts/types';

export type ReadImage = (files: readonly InputFile[]) => Promise<ReadResult>;

async function input(f: DatasetFile): Promise<InputFile> {
  return { name: f.path, bytes: await f.read() };
}

export async function loadCase(
  plan: CasePlan,
  files: ReadonlyMap<string, DatasetFile>,
  dataset: string,
  readImage: ReadImage,
): Promise<Study> {
  const get = (p: string): DatasetFile => {
    const f = files.get(p);
    if (!f)
      throw new AppError('invalid-argument', `${plan.id}: file ${p} is missing from the dataset.`, {
        subject: p,
      });
    return f;
  };
  // A MetaImage header needs its .raw beside it: read a path with its companion files.
  const withCompanions = async (p: string) =>
    Promise.all(readerFiles(p, (x) => files.has(x)).map((x) => input(get(x))));
  let image = await readImage(await Promise.all(plan.image.map((p) => input(get(p)))));
  if (plan.pixelSpacingMm && !image.volume.spacingKnown) image = withPixelSpacing(image, plan.pixelSpacingMm);
  const l = plan.labels;
  if (!l) throw new AppError('invalid-argument', `${plan.id} has no ground truth; batch runs need one.`);
  let gt: ReadResult;
  const names = new Map<number, string>(plan.labelNames ?? []);
  if (l.kind === 'labelmap' || l.kind === 'outline') {
    gt = await readImage(await withCompanions(l.path));
    if (l.kind === 'outline') gt = fillIfOutline(gt, l.path);
  } else if (l.kind === 'per-structure') {
    const byName = [...new Set(l.files.map((f) => f.name))].sort();
    const [w, h, d] = image.volume.dims;
    const data = new Uint8Array(w * h * d);
    let first: ReadResult | null = null;
    for (const f of l.files) {
      const r = await readImage(await withCompanions(f.path));
      if (r.volume.data.length !== data.length) {
        throw new AppError(
          'grid-mismatch',
          `${f.path} is ${r.volume.dims.join('×')}, not the image's ${image.volume.dims.join('×')}.`,
          { subject: f.path },
        );
      }
      first ??= r;
      const value = byName.indexOf(f.name) + 1;
      names.set(value, f.name);
      r.volume.data.forEach((v, i) => {
        if (v) data[i] = value;
      });
    }
    if (!first) throw new AppError('invalid-argument', `${plan.id} lists no mask files.`);
    gt = { ...first, volume: { ...first.volume, data } };
  } else {
    // CHAOS: one PNG per slice in slice order, stacked on the image grid.
    const [w, h, d] = image.volume.dims;
    if (l.paths.length !== d) {
      throw new AppError(
        'grid-mismatch',
        `${plan.id}: ${l.paths.length} ground-truth PNGs for ${d} image slices.`,
        { subject: plan.id },
      );
    }
    const data = new Uint8Array(w * h * d);
    let first: ReadResult | null = null;
    for (const [k, p] of l.paths.entries()) {
      const r = await readImage([await input(get(p))]);
      if (r.volume.dims[0] !== w || r.volume.dims[1] !== h) {
        throw new AppError(
          'grid-mismatch',
          `${p} is ${r.volume.dims[0]}×${r.volume.dims[1]}, the image slices are ${w}×${h}.`,
          { subject: p },
        );
      }
      first ??= r;
      data.set(
        Uint8Array.from(r.volume.data, (v) => Math.min(255, Math.max(0, v))),
        k * w * h,
      );
    }
    if (!first) throw new AppError('invalid-argument', `${plan.id} lists no ground-truth slices.`);
    gt = { ...first, volume: { ...image.volume, data } };
  }
  if (plan.valueSnap === 'chaos-mr')
    gt = { ...gt, volume: { ...gt.volume, data: Uint8Array.from(gt.volume.data, snapChaosMr) } };
  if (plan.pixelSpacingMm && !gt.volume.spacingKnown) gt = withPixelSpacing(gt, plan.pixelSpacingMm);
  const table: LabelTable | undefined =
    plan.labelTable && plan.labelTable in LABEL_TABLES
      ? LABEL_TABLES[plan.labelTable as LabelTableId]
      : undefined;
  return assembleStudy(image, gt, {
    name: `${dataset}/${plan.id}`,
    ...(plan.modality ? { modality: plan.modality } : {}),
    gtName: l.kind === 'labelmap' || l.kind === 'outline' ? l.path : `${plan.id} masks`,
    ...(table ? { table } : {}),
    extraNames: names,
  });
}
