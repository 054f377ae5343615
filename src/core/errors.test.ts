/** Anything thrown becomes an AppError with a code, a message for the user and the cause for the log. */
import { describe, expect, it } from 'vitest';
import { AppError, toAppError } from './errors';

describe('toAppError', () => {
  it('normalises strings, numbers, plain objects and null thrown by third-party parsers', () => {
    for (const [thrown, text] of [
      ['Invalid DICOM tag', 'Invalid DICOM tag'],
      [42, '42'],
      [{ reason: 'bad VR' }, 'bad VR'],
      [null, 'null'],
    ] as const) {
      const e = toAppError(thrown, 'corrupt-file', 'scan.dcm');
      expect(e).toBeInstanceOf(AppError);
      expect(e.code).toBe('corrupt-file');
      expect(e.message).toContain('scan.dcm');
      expect(e.message).toContain(text);
      expect(e.cause).toBe(thrown);
    }
  });

  it('turns an allocation RangeError into out-of-memory and an AbortError into cancelled', () => {
    const oom = toAppError(new RangeError('Array buffer allocation failed'), 'corrupt-file', 'big.nii');
    expect(oom.code).toBe('out-of-memory');
    expect(oom.message).toMatch(/^big\.nii: not enough memory/);
    // A RangeError that is not about memory keeps the fallback code.
    expect(
      toAppError(new RangeError('Offset is outside the bounds of the DataView'), 'corrupt-file').code,
    ).toBe('corrupt-file');
    const abort = Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
    expect(toAppError(abort).code).toBe('cancelled');
  });

  it('keeps an AppError as it is, and rebuilds one that crossed a worker boundary', () => {
    const original = new AppError('model-integrity', 'SHA-256 mismatch', { subject: 'encoder.onnx' });
    expect(toAppError(original)).toBe(original);
    const copy = toAppError(structuredClone(original.toJSON()));
    expect(copy).toBeInstanceOf(AppError);
    expect(copy.code).toBe('model-integrity');
    expect(copy.subject).toBe('encoder.onnx');
  });
});
