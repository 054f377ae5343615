/**
 * NIfTI-1 writing (the mask exports and the test data), kept apart from the reader so reading a file
 * never pulls in writer code and the writer needs nothing of the reader.
 */
import type { Volume } from '../image/types';

export type NiftiDatatype = 'uint8' | 'int16' | 'float32';

/** NIfTI-1 writer (single file, little-endian, sform set from the volume's LPS geometry). */
export function writeNifti(
  v: Pick<Volume, 'dims' | 'spacing' | 'origin' | 'direction' | 'data'>,
  datatype: NiftiDatatype,
  description = '',
): Uint8Array {
  const code = { uint8: 2, int16: 4, float32: 16 }[datatype];
  const bytesPer = { uint8: 1, int16: 2, float32: 4 }[datatype];
  const n = v.dims[0] * v.dims[1] * v.dims[2];
  const out = new Uint8Array(352 + n * bytesPer);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, 348, true);
  const dims = [3, v.dims[0], v.dims[1], v.dims[2], 1, 1, 1, 1];
  dims.forEach((x, i) => dv.setInt16(40 + 2 * i, x, true));
  dv.setInt16(70, code, true);
  dv.setInt16(72, bytesPer * 8, true);
  [1, v.spacing[0], v.spacing[1], v.spacing[2], 1, 1, 1, 1].forEach((x, i) =>
    dv.setFloat32(76 + 4 * i, x, true),
  );
  dv.setFloat32(108, 352, true);
  dv.setFloat32(112, 1, true);
  dv.setFloat32(116, 0, true);
  dv.setUint8(123, 2); // mm
  const desc = new TextEncoder().encode(description.slice(0, 79));
  out.set(desc, 148);
  dv.setInt16(254, 1, true); // sform_code: scanner
  // LPS → RAS: negate x and y.
  const d = v.direction;
  const rows = [0, 1, 2].map((r) => {
    const sign = r < 2 ? -1 : 1;
    return [0, 1, 2]
      .map((c) => sign * (d[3 * c + r] ?? 0) * (v.spacing[c] ?? 1))
      .concat(sign * (v.origin[r] ?? 0));
  });
  rows.forEach((row, r) => row.forEach((x, c) => dv.setFloat32(280 + 16 * r + 4 * c, x, true)));
  out.set(new TextEncoder().encode('n+1\0'), 344);
  const body = new DataView(out.buffer, 352);
  for (let i = 0; i < n; i++) {
    const x = v.data[i] ?? 0;
    if (datatype === 'uint8') body.setUint8(i, x);
    else if (datatype === 'int16') body.setInt16(2 * i, x, true);
    else body.setFloat32(4 * i, x, true);
  }
  return out;
}
