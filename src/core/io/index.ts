import { AppError, toAppError } from '../errors';
import { isDicom } from './dicom/parse';
import { isGzip } from './compression';
import { isMetaImage, readMetaImage } from './metaimage';
import { isNrrd, readNrrd } from './nrrd';
import { looksLikeNifti, readNifti } from './nifti';
import { isJpeg, isPng, readJpeg, readPng } from './raster';
import type { InputFile, ReadOptions, ReadResult } from './types';

export * from './types';
export { readNifti } from './nifti';
export { writeNifti } from './nifti-write';
export { readPng, readJpeg } from './raster';

export type DetectedFormat = 'nifti' | 'png' | 'jpeg' | 'dicom' | 'nrrd' | 'metaimage' | 'unknown';

/** Format from content first (magic bytes), the name only as a tie-breaker. */
export function detectFormat(f: InputFile): DetectedFormat {
  const b = f.bytes;
  if (isPng(b)) return 'png';
  if (isJpeg(b)) return 'jpeg';
  if (isDicom(b)) return 'dicom';
  if (isNrrd(b)) return 'nrrd';
  if (isMetaImage(b)) return 'metaimage';
  if (isGzip(b) || looksLikeNifti(b)) return 'nifti';
  if (/\.(nii|nii\.gz)$/i.test(f.name)) return 'nifti';
  if (/\.dcm$/i.test(f.name)) return 'dicom';
  return 'unknown';
}

/** Reads one single-file image or label map (NIfTI, PNG, JPEG). */
export function readSingleFile(f: InputFile, opts: ReadOptions = {}): ReadResult {
  try {
    switch (detectFormat(f)) {
      case 'nifti':
        return readNifti(f, opts);
      case 'png':
        return readPng(f, opts);
      case 'jpeg':
        return readJpeg(f, opts);
      case 'nrrd':
        return readNrrd([f], opts);
      case 'metaimage':
        return readMetaImage([f], opts);
      case 'dicom':
        // 'dicom' by content (the DICM marker) or by a .dcm name alone: say which, never "is DICOM" for
        // a file that only has the name.
        if (!isDicom(f.bytes))
          throw new AppError(
            'corrupt-file',
            `${f.name} has a DICOM name but is not a DICOM file (no 'DICM' marker at byte 128): it is damaged or another kind of file.`,
            { subject: f.name },
          );
        throw new AppError(
          'invalid-argument',
          `${f.name} is a single DICOM file: open it together with the other files of its series (select them all or drop the folder); ground truth in DICOM must be a DICOM SEG.`,
          { subject: f.name },
        );
      default:
        throw new AppError(
          'unsupported-format',
          `${f.name}: not a format this app reads (NIfTI, DICOM, PNG, JPEG, NRRD, MetaImage).`,
          { subject: f.name },
        );
    }
  } catch (e) {
    throw toAppError(e, 'corrupt-file', f.name);
  }
}
