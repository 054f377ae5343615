import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { readSingleFile } from './index';

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

describe('readSingleFile errors name what the file is', () => {
  it('a text file named .dcm is not called DICOM, and no function name reaches the user', () => {
    const e = errorOf(() =>
      readSingleFile({ name: 'notes.dcm', bytes: new TextEncoder().encode('meeting notes, not an image\n') }),
    );
    expect(e.code).toBe('corrupt-file');
    expect(e.message).toContain('notes.dcm');
    expect(e.message).toMatch(/not a DICOM file/);
    expect(e.message).not.toMatch(/\bis DICOM\b/);
    expect(e.message).not.toMatch(/[a-z][A-Za-z]+\(/); // no "readImageFiles(" style hints
  });

  it('a real DICOM file on its own is sent to its series or to DICOM SEG', () => {
    const bytes = new Uint8Array(200);
    bytes.set(new TextEncoder().encode('DICM'), 128);
    const e = errorOf(() => readSingleFile({ name: 'slice.dcm', bytes }));
    expect(e.code).toBe('invalid-argument');
    expect(e.message).toMatch(/series/);
    expect(e.message).toMatch(/DICOM SEG/);
    expect(e.message).not.toMatch(/readImageFiles/);
  });
});
