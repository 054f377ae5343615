/**
 * DICOM Segmentation (SEG) reader.
 *
 * Reading places every frame on the image grid through world coordinates: the frame's position
 * (PlanePositionSequence) and orientation give the voxel of its first pixel and the grid axes its rows and
 * columns run along, so a SEG that omits empty frames, or lists frames in any order, still aligns. A frame
 * of reference, orientation or pixel size that differs from the grid, or a frame off the grid, is a
 * 'grid-mismatch': masks are never resampled. BINARY frames are bit-packed (continuously across frames);
 * FRACTIONAL frames are thresholded at half their maximum. The result is a uint8 label volume whose values
 * are segment numbers; where segments overlap, the higher-numbered one wins and a note says so.
 */
import { AppError } from '../../errors';
import type { Vec3, Volume } from '../../image/types';
import { worldToVoxel } from '../../image/volume';
import { checkBudget, guardAlloc } from '../budget';
import { copyBytes, swapBytes } from '../bytes';
import type { InputFile, ReadOptions, ReadResult } from '../types';
import {
  SOP_SEG,
  TAG,
  transferSyntaxName,
  TS_DEFLATED_LE,
  TS_EXPLICIT_BE,
  TS_EXPLICIT_LE,
  TS_IMPLICIT_LE,
} from './dictionary';
import { dot, frameGeometries } from './geometry';
import { functionalGroup, items, parseDicomFile, str, text, u16 } from './parse';
import { pixelInfo } from './pixels';

const SEG_TAG = {
  segmentationType: 'x00620001',
  segmentSequence: 'x00620002',
  segmentNumber: 'x00620004',
  segmentLabel: 'x00620005',
  segmentIdentification: 'x0062000a',
  referencedSegmentNumber: 'x0062000b',
  maxFractional: 'x0062000e',
} as const;

export type SegGrid = Pick<Volume, 'dims' | 'spacing' | 'origin' | 'direction'> & {
  readonly frameOfReference?: string;
};

function mismatch(name: string, reason: string): AppError {
  return new AppError(
    'grid-mismatch',
    `${name} does not fit this image (${reason}). Load the segmentation made for this image series; masks are never resampled.`,
    { subject: name, detail: reason },
  );
}

function corrupt(name: string, msg: string): AppError {
  return new AppError('corrupt-file', `${name}: ${msg} Re-export the segmentation from its source.`, {
    subject: name,
  });
}

function axisOf(v: Vec3, grid: SegGrid): { axis: 0 | 1 | 2; sign: 1 | -1 } | null {
  for (const axis of [0, 1, 2] as const) {
    const d = grid.direction;
    const g: Vec3 = [d[3 * axis] ?? 0, d[3 * axis + 1] ?? 0, d[3 * axis + 2] ?? 0];
    const c = dot(v, g);
    if (Math.abs(Math.abs(c) - 1) < 1e-3) return { axis, sign: c > 0 ? 1 : -1 };
  }
  return null;
}

/**
 * Reads a DICOM SEG onto `grid` (the geometry of the image it belongs to, as stored or canonicalized).
 */
export function readDicomSeg(file: InputFile, grid: SegGrid, opts: ReadOptions = {}): ReadResult {
  const { name } = file;
  const p = parseDicomFile(file, opts);
  const ds = p.dataSet;
  if (p.sopClassUid !== SOP_SEG) {
    throw new AppError(
      'unsupported-format',
      `${name} is not a DICOM Segmentation (its SOP class is ${p.sopClassUid || 'not given'}). Load a SEG object, or load this file as an image.`,
      { subject: name },
    );
  }
  if (![TS_IMPLICIT_LE, TS_EXPLICIT_LE, TS_DEFLATED_LE, TS_EXPLICIT_BE].includes(p.transferSyntax)) {
    throw new AppError(
      'unsupported-format',
      `${name} is compressed with ${transferSyntaxName(p.transferSyntax)}, which the segmentation reader does not decode. Convert it to an uncompressed SEG (e.g. dcmdjpeg/dcmdrle) or NIfTI.`,
      { subject: name, detail: p.transferSyntax },
    );
  }
  const info = pixelInfo(p);
  const segType = str(ds, SEG_TAG.segmentationType).toUpperCase();
  if (segType !== 'BINARY' && segType !== 'FRACTIONAL') {
    throw new AppError(
      'unsupported-format',
      `${name}: segmentation type '${segType || '(none)'}' is not supported (BINARY or FRACTIONAL).`,
      { subject: name },
    );
  }
  const wantBits = segType === 'BINARY' ? 1 : 8;
  if (info.bitsAllocated !== wantBits || info.samplesPerPixel !== 1)
    throw corrupt(
      name,
      `a ${segType} segmentation needs ${wantBits}-bit single-sample pixels, not ${info.bitsAllocated}-bit.`,
    );
  const { rows, columns, frames } = info;
  const perFrame = rows * columns;
  const pixelBytes = Math.ceil((perFrame * frames * wantBits) / 8);
  const [nx, ny, nz] = grid.dims;
  const nVox = nx * ny * nz;
  checkBudget(pixelBytes + nVox, name, opts);
  const pix = ds.elements[TAG.pixelData];
  if (!pix)
    throw new AppError('truncated-file', `${name} has no pixel data; it may be cut short.`, {
      subject: name,
    });
  if (pix.length < pixelBytes)
    throw corrupt(
      name,
      `its pixel data holds ${pix.length} bytes, but ${frames} frames of ${columns}×${rows} need ${pixelBytes}.`,
    );
  let bits = p.bytes.subarray(pix.dataOffset, pix.dataOffset + pixelBytes);
  if (!p.littleEndian && pix.vr === 'OW') {
    bits = copyBytes(p.bytes.subarray(pix.dataOffset, pix.dataOffset + pix.length));
    swapBytes(bits, 2);
  }

  const segFor = str(ds, TAG.frameOfReference);
  if (grid.frameOfReference && segFor && grid.frameOfReference !== segFor)
    throw mismatch(name, 'it belongs to a different frame of reference');

  const utf8 = str(ds, TAG.charset).includes('ISO_IR 192');
  const labelNames = new Map<number, string>();
  const segOrder = new Map<number, number>();
  items(ds, SEG_TAG.segmentSequence).forEach((it, i) => {
    const num = u16(it, SEG_TAG.segmentNumber);
    if (num === undefined) return;
    labelNames.set(num, text(it, SEG_TAG.segmentLabel, utf8) || `Segment ${num}`);
    segOrder.set(num, i);
  });
  if (labelNames.size === 0) throw corrupt(name, 'it lists no segments (SegmentSequence is empty).');
  const tooBig = [...labelNames.keys()].find((n) => n < 1 || n > 255);
  if (tooBig !== undefined)
    throw new AppError(
      'unsupported-format',
      `${name}: segment number ${tooBig} does not fit this app's 8-bit label maps (1–255).`,
      { subject: name },
    );

  const { geoms } = frameGeometries(p, frames);
  const maxFrac = segType === 'FRACTIONAL' ? (u16(ds, SEG_TAG.maxFractional) ?? 255) : 1;
  const threshold = maxFrac / 2;
  const labels = guardAlloc(name, () => new Uint8Array(nVox));
  const strides = [1, nx, nx * ny];
  const frameList = geoms.map((g, f) => {
    const segNum = u16(
      functionalGroup(ds, f, SEG_TAG.segmentIdentification),
      SEG_TAG.referencedSegmentNumber,
    );
    if (segNum === undefined)
      throw corrupt(name, `frame ${f + 1} names no segment (ReferencedSegmentNumber).`);
    if (!labelNames.has(segNum))
      throw corrupt(name, `frame ${f + 1} refers to segment ${segNum}, which is not listed.`);
    return { f, g, segNum };
  });
  frameList.sort((a, b) => (segOrder.get(a.segNum) ?? 0) - (segOrder.get(b.segNum) ?? 0) || a.f - b.f);
  let overlaps = 0;
  let fractionalSeen = false;
  for (const { f, g, segNum } of frameList) {
    const where = `frame ${f + 1}`;
    if (!g.ipp || !g.iop) throw corrupt(name, `${where} has no position or orientation.`);
    if (!g.pixelSpacing) throw corrupt(name, `${where} has no pixel spacing.`);
    const rowAxis = axisOf(g.iop[0], grid);
    const colAxis = axisOf(g.iop[1], grid);
    if (!rowAxis || !colAxis || rowAxis.axis === colAxis.axis)
      throw mismatch(name, `the orientation of ${where} is not a plane of the image grid`);
    const [rowSp, colSp] = g.pixelSpacing;
    const gridSpA = grid.spacing[rowAxis.axis];
    const gridSpB = grid.spacing[colAxis.axis];
    if (Math.abs(colSp - gridSpA) > 1e-3 * gridSpA || Math.abs(rowSp - gridSpB) > 1e-3 * gridSpB)
      throw mismatch(name, `pixel spacing ${rowSp}×${colSp} mm vs ${gridSpB}×${gridSpA} mm`);
    const v = worldToVoxel(grid, g.ipp);
    const v0 = v.map((x) => Math.round(x));
    if (v.some((x, i) => Math.abs(x - (v0[i] ?? 0)) > 0.1))
      throw mismatch(
        name,
        `${where} lies between the image's voxels (at voxel ${v.map((x) => x.toFixed(2)).join(', ')})`,
      );
    const end = [...v0];
    end[rowAxis.axis] = (end[rowAxis.axis] ?? 0) + rowAxis.sign * (columns - 1);
    end[colAxis.axis] = (end[colAxis.axis] ?? 0) + colAxis.sign * (rows - 1);
    const inside = (q: number[]) => q.every((x, i) => x >= 0 && x < (grid.dims[i] ?? 0));
    if (!inside(v0) || !inside(end))
      throw mismatch(name, `${where} falls outside the image grid (voxel ${v0.join(', ')})`);
    const base =
      (v0[0] ?? 0) * (strides[0] ?? 0) + (v0[1] ?? 0) * (strides[1] ?? 0) + (v0[2] ?? 0) * (strides[2] ?? 0);
    const stepC = rowAxis.sign * (strides[rowAxis.axis] ?? 0);
    const stepR = colAxis.sign * (strides[colAxis.axis] ?? 0);
    const bit0 = f * perFrame;
    for (let r = 0; r < rows; r++) {
      let o = base + r * stepR;
      for (let c = 0; c < columns; c++, o += stepC) {
        const idx = bit0 + r * columns + c;
        let on: boolean;
        if (wantBits === 1) {
          on = (((bits[idx >>> 3] ?? 0) >> (idx & 7)) & 1) === 1;
        } else {
          const val = bits[idx] ?? 0;
          on = val > threshold;
          if (val > 0 && val < maxFrac) fractionalSeen = true;
        }
        if (!on) continue;
        const prev = labels[o] ?? 0;
        if (prev !== 0 && prev !== segNum) overlaps++;
        labels[o] = segNum;
      }
    }
  }
  const notes: string[] = [...p.notes];
  if (overlaps > 0)
    notes.push(`${overlaps} voxels belong to more than one segment; the later segment was kept for each.`);
  if (segType === 'FRACTIONAL')
    notes.push(
      fractionalSeen
        ? `Fractional segmentation thresholded at half its maximum (${maxFrac}).`
        : 'Fractional segmentation (all values 0 or maximum).',
    );
  const volume: Volume = {
    dims: grid.dims,
    spacing: grid.spacing,
    spacingKnown: true,
    origin: grid.origin,
    direction: grid.direction,
    data: labels,
    modality: opts.modality ?? 'OT',
    ...(segFor ? { frameOfReference: segFor } : {}),
  };
  return {
    volume,
    format: 'dicom-seg',
    notes,
    is8bit: true,
    labelNames,
    ...(segFor ? { frameOfReference: segFor } : {}),
  };
}
