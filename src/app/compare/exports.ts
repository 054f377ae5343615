/**
 * Exports of the compare view: the selected masks as PNG, NIfTI or DICOM SEG (each with a provenance
 * record), the side-by-side screenshot, and the provenance record itself.
 */
import { encode as encodePng } from 'fast-png';
import { AppError } from '../../core/errors';
import { describeWindow } from '../../core/image/intensity';
import { toSourceGrid } from '../../core/image/volume';
import { appRecord } from '../../core/provenance';
import type { Mask } from '../../core/image/types';
import { writeNifti } from '../../core/io';
import { writeDicomSeg } from '../../core/io/dicom';
import type { Study } from '../../core/io/study';
import type { ModelProvenance } from '../../runtime/model-loader';
import { SLOTS, useCompareStore, type Slot } from '../../state/compare';
import type { ViewerController } from '../../viewer/controller';
import { saveBytes } from '../downloads';

/** What an export reads besides the store. */
export interface ExportSource {
  readonly study: () => Study | null;
  readonly viewer: () => ViewerController | null;
  readonly selectedMask: (slot: Slot) => Mask | null;
  readonly provenance: (slot: Slot) => ModelProvenance | null;
}

/** `<study>_slice<k>_<structure>`, with only file-name-safe characters. */
function exportBase(): string {
  const s = useCompareStore.getState();
  const study = s.study;
  const st = study?.structures.find((x) => x.value === s.structure);
  const safe = (t: string) => t.replace(/[^a-zA-Z0-9._-]+/g, '_').slice(0, 60);
  return `${safe(study?.name ?? 'study')}_slice${s.slice}_${safe(st?.name ?? 'structure')}`;
}

/** What was compared, how, and what came out: the JSON beside every export. */
export function provenanceRecord(src: ExportSource): Record<string, unknown> {
  const s = useCompareStore.getState();
  return {
    app: appRecord(),
    date: new Date().toISOString(),
    study: s.study
      ? {
          id: s.study.id,
          name: s.study.name,
          format: s.study.format,
          modality: s.study.modality,
          gt: s.study.gt,
        }
      : null,
    slice: s.slice,
    structure: s.study?.structures.find((x) => x.value === s.structure) ?? null,
    window: describeWindow(s.modelWindow),
    prompts: { points: s.points.map((p) => [p.x, p.y, p.label]), box: s.box },
    selectionRule: s.rule,
    models: Object.fromEntries(
      SLOTS.map((slot) => [
        slot,
        {
          ...src.provenance(slot),
          provider: s.models[slot].provider,
          threads: s.models[slot].threads,
          metrics: s.results[slot].metrics,
          encodeMs: s.results[slot].encodeMs,
          decodeMs: s.results[slot].decodeMs,
          decodeWorker: s.results[slot].decodeWorker,
          decodeThreads: s.results[slot].decodeThreads,
        },
      ]),
    ),
  };
}

/** The slice's mask in a volume of the study's (display) grid, turned back to the source grid. */
function maskVolume(study: Study, mask: Mask, slice: number): Uint8Array {
  const [nx, ny, nz] = study.image.dims;
  const vol = new Uint8Array(nx * ny * nz);
  vol.set(mask.data, slice * nx * ny);
  return toSourceGrid(vol, study.image, study.sourceGeometry);
}

/** Saves each pane's selected mask in `kind`, then the provenance record; throws what to fix. */
export function exportMasks(src: ExportSource, kind: 'png' | 'nifti' | 'dicom-seg'): void {
  const s = useCompareStore.getState();
  const study = src.study();
  if (!study) throw new AppError('invalid-argument', 'Nothing to export yet: open a study and click.');
  const masks = SLOTS.map((slot) => ({ slot, mask: src.selectedMask(slot) })).filter((m) => m.mask);
  if (masks.length === 0)
    throw new AppError('invalid-argument', 'No mask to export yet: click on the image first.');
  const base = exportBase();
  for (const { slot, mask } of masks) {
    if (!mask) continue;
    const name = `${base}_${slot === 'sam' ? 'SAM' : 'SAM2'}`;
    if (kind === 'png') {
      const data = mask.data.map((v) => (v ? 255 : 0));
      saveBytes(
        `${name}.png`,
        encodePng({ width: mask.width, height: mask.height, data, channels: 1, depth: 8 }),
        'image/png',
      );
    } else if (kind === 'nifti') {
      saveBytes(
        `${name}.nii`,
        writeNifti(
          { ...study.sourceGeometry, data: maskVolume(study, mask, s.slice) },
          'uint8',
          `sam-compare ${slot} mask`,
        ),
      );
    } else {
      const d = study.dicom;
      if (!study.isDicom || !d || !study.frameOfReference)
        throw new AppError(
          'unsupported-format',
          'DICOM SEG export needs a DICOM source series (with a frame of reference).',
        );
      const structure = s.study?.structures.find((x) => x.value === s.structure)?.name ?? 'structure';
      const bytes = writeDicomSeg({
        labels: { ...study.sourceGeometry, data: maskVolume(study, mask, s.slice) },
        segments: [
          {
            number: 1,
            label: `${slot === 'sam' ? 'SAM' : 'SAM 2'} ${structure}`.slice(0, 64),
            algorithmType: 'AUTOMATIC',
            algorithmName: s.models[slot].label.slice(0, 64),
          },
        ],
        frameOfReference: study.frameOfReference,
        studyInstanceUid: d.studyUid,
        seriesInstanceUid: d.seriesUid,
        sourceSopInstanceUids: d.sopInstanceUids,
        sourceSopClassUid: d.sopClassUid,
        seed: `${study.id}|${slot}|${s.slice}|${s.structure ?? 0}|${JSON.stringify(s.points)}`,
        seriesDescription: `${slot === 'sam' ? 'SAM' : 'SAM 2'} mask (sam-compare)`,
      });
      saveBytes(`${name}.seg.dcm`, bytes, 'application/dicom');
    }
  }
  saveBytes(
    `${base}_provenance.json`,
    new TextEncoder().encode(JSON.stringify(provenanceRecord(src), null, 2)),
    'application/json',
  );
  s.toast(
    'info',
    `Exported ${masks.length} mask${masks.length === 1 ? '' : 's'} (${kind.toUpperCase()}) with provenance.`,
  );
}

/** Saves both panes side by side as one PNG. */
export async function screenshot(src: ExportSource): Promise<void> {
  const blob = await src.viewer()?.screenshot();
  if (!blob) {
    useCompareStore.getState().toast('warn', 'Nothing to capture yet.');
    return;
  }
  saveBytes(`${exportBase()}_comparison.png`, blob, 'image/png');
}
