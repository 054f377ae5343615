/**
 * Opening studies in the compare view: the embedded sample, picked files and drops (folders included).
 * Which input is the image, the masks or a side file is `core/study/inputs` (pure); this reads what
 * that plan names and hands the assembled study to the session.
 */
import { AppError } from '../../core/errors';
import { toSourceGrid } from '../../core/image/volume';
import { readSingleFile, type InputFile, type ReadResult } from '../../core/io';
import type { FrameDecoder } from '../../core/io/dicom';
import { readDicomImage, readImageFiles, readSegOnGrid } from '../../core/io/read-any';
import { combineMasks, withPixelSpacing, type MaskSet } from '../../core/io/open';
import { assembleStudy, type Study } from '../../core/io/study';
import { baseName, planInputs, type OpenRole } from '../../core/study/inputs';
import { useCompareStore } from '../../state/compare';
import { fileToInput } from '../downloads';
import { filesFromDrop } from '../drop';
import { guard } from './feedback';
import type { Session } from './session';

export type { OpenRole };

/** The current image as read (source grid), to re-assemble it with new ground truth. */
function sourceRead(cur: Study): ReadResult {
  return {
    volume: {
      ...cur.image,
      ...cur.sourceGeometry,
      data: toSourceGrid(cur.image.data, cur.image, cur.sourceGeometry),
    },
    format: cur.format as ReadResult['format'],
    notes: cur.notes,
    is8bit: cur.is8bit,
    ...(cur.rgb ? { rgb: cur.rgb } : {}),
    ...(cur.dicom ? { dicom: cur.dicom } : {}),
    ...(cur.frameOfReference ? { frameOfReference: cur.frameOfReference } : {}),
  };
}

export class StudyOpener {
  constructor(
    private readonly session: Session,
    private readonly appBase: string,
    /** Decodes compressed DICOM frames (Cornerstone's codecs, provided by the composition root). */
    private readonly frameDecoder: FrameDecoder | undefined,
  ) {}

  async openSample(): Promise<void> {
    const s = useCompareStore.getState();
    await guard('Opening the sample', async () => {
      s.patch({ loading: 'sample CT' });
      const [img, seg] = await Promise.all(
        ['sample/example_ct_sm.nii.gz', 'sample/example_seg.nii.gz'].map(async (p) => {
          const res = await fetch(new URL(p, this.appBase));
          if (!res.ok)
            throw new AppError(
              'network',
              `The embedded sample (${p}) could not be loaded (HTTP ${res.status}).`,
            );
          const bytes = new Uint8Array(await res.arrayBuffer());
          // Static servers may send .nii.gz with Content-Encoding: gzip, so it arrives inflated.
          const name = (p.split('/')[1] ?? p).replace(
            /\.gz$/,
            bytes[0] === 0x1f && bytes[1] === 0x8b ? '.gz' : '',
          );
          return { name, bytes };
        }),
      );
      if (!img || !seg) return;
      const study = assembleStudy(readSingleFile(img, { modality: 'CT' }), readSingleFile(seg), {
        name: 'TotalSegmentator example CT (embedded sample)',
        modality: 'CT',
        gtName: 'TotalSegmentator reference (example_seg.nii.gz)',
        gtIsModelOutput: true,
      });
      await this.session.setStudy(study, 'liver');
    });
  }

  async openFiles(files: readonly File[], role: OpenRole): Promise<void> {
    await this.openInputs(() => Promise.all(files.map(fileToInput)), role);
  }

  async openDrop(dt: DataTransfer, role: OpenRole): Promise<void> {
    await this.openInputs(async () => {
      const dropped = await filesFromDrop(dt);
      return Promise.all(
        dropped.map(async (d) => ({ name: d.path, bytes: new Uint8Array(await d.file.arrayBuffer()) })),
      );
    }, role);
  }

  private async openInputs(getInputs: () => Promise<InputFile[]>, role: OpenRole): Promise<void> {
    const s = () => useCompareStore.getState();
    await guard('Opening files', async () => {
      s().patch({ loading: 'files' });
      const all = await getInputs();
      if (all.length === 0) {
        s().patch({ loading: null });
        return;
      }
      s().patch({ loading: all.length === 1 ? (all[0]?.name ?? 'file') : `${all.length} files` });
      const plan = planInputs(all, role);
      const { spacing, names } = plan.side;
      const withSpacing = (r: ReadResult, name: string): ReadResult => {
        const mm = spacing.get(baseName(name));
        return mm && !r.volume.spacingKnown ? withPixelSpacing(r, mm) : r;
      };
      if (plan.kind === 'gt') {
        const cur = this.session.study;
        if (!cur) throw new AppError('invalid-argument', 'Open an image first, then its ground truth.');
        if (plan.seg) {
          const r = readSegOnGrid(plan.seg, sourceRead(cur));
          await this.attachGroundTruth({
            result: r,
            name: baseName(plan.seg.name),
            names: new Map(r.labelNames ?? []),
          });
          return;
        }
        const gt = combineMasks(plan.masks, cur.name);
        await this.attachGroundTruth({ ...gt, names: new Map([...gt.names, ...names]) });
        return;
      }
      const decoder = this.frameDecoder;
      // Strict unless the user opted in; a file read leniently carries a note the side panel shows.
      const readOpts = { ...(decoder ? { decoder } : {}), ...(s().lenientDicom ? { lenient: true } : {}) };
      const src = plan.image;
      const read =
        src.kind === 'dicom'
          ? (await readDicomImage(src.files, readOpts)).result
          : withSpacing(await readImageFiles([src.file, ...src.companions], readOpts), src.file.name);
      let gt: MaskSet | null = null;
      if (plan.seg) {
        const r = readSegOnGrid(plan.seg, read);
        gt = { result: r, name: baseName(plan.seg.name), names: new Map(r.labelNames ?? []) };
      } else if (plan.masks.length) {
        gt = combineMasks(plan.masks, plan.imageName);
      }
      const study = assembleStudy(read, gt ? withSpacing(gt.result, plan.masks[0]?.name ?? '') : null, {
        name: plan.imageName,
        ...(gt ? { gtName: gt.name, extraNames: new Map([...gt.names, ...names]) } : {}),
      });
      await this.session.setStudy(study, null);
    });
  }

  private async attachGroundTruth(gt: MaskSet): Promise<void> {
    const cur = this.session.study;
    if (!cur) return;
    // Re-assemble on the current image; throws (and keeps the current study) when the grids differ.
    const study = assembleStudy(sourceRead(cur), gt.result, {
      name: cur.name,
      modality: cur.modality,
      gtName: gt.name,
      extraNames: gt.names,
    });
    await this.session.setStudy(study, null);
  }
}
