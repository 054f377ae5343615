import { AppError, toAppError } from '../errors';
import { isGzip } from './gzip';
import { looksLikeNifti, readNifti } from './nifti';
import { isJpeg, isPng, readJpeg, readPng } from './raster';
import type { InputFile, ReadOptions, ReadResult } from './types';

export * from './types';
export { readNifti, writeNifti } from './nifti';
export { readPng, readJpeg } from './raster';

export type DetectedFormat = 'nifti' | 'png' | 'jpeg' | 'dicom' | 'nrrd' | 'metaimage' | 'unknown';

/** Format from content first (magic bytes), the name only as a tie-breaker. */
export function detectFormat(f: InputFile): DetectedFormat {
  const b = f.bytes;
  if (isPng(b)) return 'png';
  if (isJpeg(b)) return 'jpeg';
  if (isGzip(b) || looksLikeNifti(b)) return 'nifti';
  if (b.length > 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d)
    return 'dicom';
  const head = new TextDecoder('latin1').decode(b.subarray(0, 64));
  if (head.startsWith('NRRD')) return 'nrrd';
  if (/^(ObjectType|NDims|ElementSpacing|DimSize)\s*=/m.test(head)) return 'metaimage';
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
