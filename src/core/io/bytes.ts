/**
 * Raw sample bytes, shared by every reader that decodes uncompressed voxel data (NRRD, MetaImage, DICOM):
 * sample types and sizes, byte swapping, and typed samples from bytes in either byte order.
 */
import type { ScalarArray } from '../image/types';
import { guardAlloc } from './budget';

export type SampleType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

export const SAMPLE_BYTES: Readonly<Record<SampleType, number>> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  float64: 8,
};

/** Reverses the bytes of every `size`-byte sample in place. */
export function swapBytes(b: Uint8Array, size: number): void {
  if (size <= 1) return;
  for (let i = 0; i + size <= b.length; i += size) {
    for (let a = i, z = i + size - 1; a < z; a++, z--) {
      const t = b[a] ?? 0;
      b[a] = b[z] ?? 0;
      b[z] = t;
    }
  }
}

/** A copy that owns its (aligned) buffer, whatever `b` is a view of. */
export function copyBytes(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

/** Samples of `type` from bytes in the given byte order (copied; float64 narrowed to float32). */
export function samplesFromBytes(raw: Uint8Array, type: SampleType, littleEndian: boolean): ScalarArray {
  const size = SAMPLE_BYTES[type];
  const n = Math.floor(raw.length / size);
  const b = guardAlloc('image data', () => copyBytes(raw.subarray(0, n * size)));
  if (!littleEndian) swapBytes(b, size);
  const buf = b.buffer;
  switch (type) {
    case 'int8':
      return new Int8Array(buf);
    case 'uint8':
      return b;
    case 'int16':
      return new Int16Array(buf);
    case 'uint16':
      return new Uint16Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'uint32':
      return new Uint32Array(buf);
    case 'float32':
      return new Float32Array(buf);
    case 'float64':
      return guardAlloc('image data', () => Float32Array.from(new Float64Array(buf)));
  }
}
