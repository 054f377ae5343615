/**
 * One entry point for every image format the app reads: a single file (NIfTI, PNG, JPEG, NRRD, .mha),
 * a header + data pair (.mhd + .raw, .nhdr + data), or the files of a DICOM series (compressed frames
 * decoded by an injected FrameDecoder, since the codecs live outside the core).
 */
import { AppError } from '../errors';
import { isDicom, parseDicomFile } from './dicom/parse';
import type { FrameDecoder } from './dicom/pixels';
import { readDicomSeg, type SegGrid } from './dicom/seg';
import { readDicomSeries, type DicomSeries } from './dicom/series';
import { detectFormat, readSingleFile } from './index';
import { readMetaImage } from './metaimage';
import { readNrrd } from './nrrd';
import type { InputFile, ReadOptions, ReadResult } from './types';

export interface ReadAnyOptions extends ReadOptions {
  readonly decoder?: FrameDecoder;
}

export const SEG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';

const looksDicomName = (n: string) =>
  /\.(dcm|dicom|ima)$/i.test(n) || !/\.[a-z][a-z0-9]{0,5}$/i.test(n.split('/').pop() ?? n);

export function isDicomFile(f: InputFile): boolean {
  if (isDicom(f.bytes)) return true;
  // detectFormat falls back to 'dicom' by name alone (.dcm): that, too, is "no other format's content".
  const format = detectFormat(f);
  return looksDicomName(f.name) && (format === 'unknown' || format === 'dicom');
}

/** True for a DICOM Segmentation object (read as ground truth, not as an image). */
export function isDicomSeg(f: InputFile): boolean {
  if (!isDicom(f.bytes)) return false;
  try {
    const p = parseDicomFile(f);
    return p.sopClassUid === SEG_SOP_CLASS || p.mediaSopClassUid === SEG_SOP_CLASS;
  } catch {
    return false;
  }
}

function seriesResult(s: DicomSeries): ReadResult {
  return {
    ...s.result,
    dicom: {
      studyUid: s.studyUid,
      seriesUid: s.seriesUid,
      sopInstanceUids: s.sopInstanceUids,
      sopClassUid: s.sopClassUid,
    },
  };
}

/** Reads the DICOM files of one series (the largest, when several are mixed in, with a note). */
export async function readDicomImage(
  files: readonly InputFile[],
  opts: ReadAnyOptions = {},
): Promise<{ result: ReadResult; errors: readonly { name: string; message: string }[] }> {
  const { series, errors } = await readDicomSeries(files, opts);
  const sorted = [...series].sort((a, b) => b.sopInstanceUids.length - a.sopInstanceUids.length);
  const best = sorted[0];
  if (!best) {
    const first = errors[0];
    throw new AppError(
      first?.code ?? 'corrupt-file',
      first ? first.message : 'No readable DICOM image among the files.',
      {
        subject: first?.name ?? 'dicom',
        detail: errors.map((e) => `${e.name}: ${e.message}`).join('\n'),
      },
    );
  }
  const r = seriesResult(best);
  const notes = [...r.notes];
  if (sorted.length > 1)
    notes.push(
      `${sorted.length} DICOM series were dropped; showing the largest (${best.description || best.seriesUid}, ${best.sopInstanceUids.length} images).`,
    );
  const junk = errors.filter((e) => !/Segmentation|SEG/.test(e.message));
  if (junk.length)
    notes.push(
      `${junk.length} file${junk.length === 1 ? '' : 's'} could not be used: ${junk
        .slice(0, 3)
        .map((e) => e.message)
        .join(' ')}${junk.length > 3 ? ' …' : ''}`,
    );
  return { result: { ...r, notes }, errors };
}

export async function readImageFiles(
  files: readonly InputFile[],
  opts: ReadAnyOptions = {},
): Promise<ReadResult> {
  const first = files[0];
  if (!first) throw new AppError('invalid-argument', 'No file to read.');
  const dicom = files.filter(isDicomFile);
  if (dicom.length > 0 && dicom.length >= files.length / 2) return (await readDicomImage(dicom, opts)).result;
  const mhd = files.find((f) => /\.(mhd|mha)$/i.test(f.name));
  if (mhd) return readMetaImage([mhd, ...files.filter((f) => f !== mhd)], opts);
  const nrrd = files.find((f) => /\.(nhdr|nrrd)$/i.test(f.name));
  if (nrrd) return readNrrd([nrrd, ...files.filter((f) => f !== nrrd)], opts);
  return Promise.resolve(readSingleFile(first, opts));
}

/** A DICOM SEG as a label map on the image's grid. */
export function readSegOnGrid(seg: InputFile, image: ReadResult, opts: ReadOptions = {}): ReadResult {
  const grid: SegGrid = {
    ...image.volume,
    ...(image.frameOfReference ? { frameOfReference: image.frameOfReference } : {}),
  };
  return readDicomSeg(seg, grid, opts);
}
