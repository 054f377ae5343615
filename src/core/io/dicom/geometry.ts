/**
 * Geometry of each frame of one file: position, orientation, pixel size, slice thickness and rescale, from
 * the top-level attributes, an enhanced object's functional groups, or a legacy multi-frame's offsets.
 */
import type { DataSet } from 'dicom-parser';
import type { Vec3 } from '../../image/types';
import { TAG } from './dictionary';
import { corrupt, functionalGroup, items, num, nums, u16, type ParsedDicom } from './parse';

export interface FrameGeometry {
  readonly ipp?: Vec3;
  /** Unit row direction and column direction. */
  readonly iop?: readonly [Vec3, Vec3];
  /** [row spacing (between rows, along j), column spacing (along i)] in mm. */
  readonly pixelSpacing?: readonly [number, number];
  readonly sliceThickness?: number;
  readonly slope: number;
  readonly intercept: number;
}

function vec3(v: number[] | undefined, at = 0): Vec3 | undefined {
  if (!v || v.length < at + 3) return undefined;
  const out: Vec3 = [v[at] ?? NaN, v[at + 1] ?? NaN, v[at + 2] ?? NaN];
  return out.every(Number.isFinite) ? out : undefined;
}

function norm(v: Vec3): number {
  return Math.hypot(v[0], v[1], v[2]);
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function unit(v: Vec3): Vec3 {
  const n = norm(v) || 1;
  return [v[0] / n, v[1] / n, v[2] / n];
}

/** IOP as two unit vectors; refuses directions that are empty or not perpendicular. */
export function orientation(values: number[] | undefined, name: string): readonly [Vec3, Vec3] | undefined {
  const r = vec3(values, 0);
  const c = vec3(values, 3);
  if (!r || !c) return undefined;
  if (Math.abs(norm(r) - 1) > 0.01 || Math.abs(norm(c) - 1) > 0.01 || Math.abs(dot(r, c)) > 1e-3) {
    throw corrupt(
      name,
      `ImageOrientationPatient ${values?.join('\\') ?? ''} is not two perpendicular unit vectors. Re-export the image from its source.`,
    );
  }
  return [unit(r), unit(c)];
}

function spacingPair(values: number[] | undefined): readonly [number, number] | undefined {
  const a = values?.[0];
  const b = values?.[1];
  // A value like '1e400' parses to Infinity: not a pixel size.
  if (a === undefined || b === undefined || !(Number.isFinite(a) && a > 0) || !(Number.isFinite(b) && b > 0))
    return undefined;
  return [a, b];
}

function rescaleOf(ds: DataSet | undefined): { slope?: number; intercept?: number } {
  const slope = num(ds, TAG.slope);
  const intercept = num(ds, TAG.intercept);
  return {
    ...(slope !== undefined && Number.isFinite(slope) && slope !== 0 ? { slope } : {}),
    ...(intercept !== undefined && Number.isFinite(intercept) ? { intercept } : {}),
  };
}

/** Pixel size of images without PixelSpacing: the detector (ImagerPixelSpacing) or the US regions. */
export function fallbackSpacing(
  ds: DataSet,
): { spacing: readonly [number, number]; note: string } | undefined {
  const imager = spacingPair(nums(ds, TAG.imagerPixelSpacing));
  if (imager) return { spacing: imager, note: 'Pixel size from ImagerPixelSpacing (at the detector).' };
  for (const region of items(ds, TAG.usRegions)) {
    const ux = u16(region, TAG.physUnitsX);
    const uy = u16(region, TAG.physUnitsY);
    const dx = region.elements[TAG.physDeltaX] ? region.double(TAG.physDeltaX) : undefined;
    const dy = region.elements[TAG.physDeltaY] ? region.double(TAG.physDeltaY) : undefined;
    // Units code 3 = centimetres.
    if (ux === 3 && uy === 3 && dx !== undefined && dy !== undefined && dx > 0 && dy > 0) {
      return {
        spacing: [Math.abs(dy) * 10, Math.abs(dx) * 10],
        note: 'Pixel size from the ultrasound region calibration.',
      };
    }
  }
  return undefined;
}

/** Geometry of every frame of a file (one for single-frame images). */
export function frameGeometries(p: ParsedDicom, frames: number): { geoms: FrameGeometry[]; notes: string[] } {
  const ds = p.dataSet;
  const notes: string[] = [];
  const topIpp = vec3(nums(ds, TAG.ipp));
  const topIop = orientation(nums(ds, TAG.iop), p.name);
  const topSpacing = spacingPair(nums(ds, TAG.pixelSpacing));
  const topThickness = num(ds, TAG.sliceThickness);
  const top = rescaleOf(ds);
  const perFrame = items(ds, TAG.perFrameGroups);
  const enhanced = perFrame.length > 0 || items(ds, TAG.sharedGroups).length > 0;
  if (enhanced && perFrame.length > 0 && perFrame.length < frames) {
    throw corrupt(
      p.name,
      `it declares ${frames} frames but describes only ${perFrame.length} in its per-frame functional groups. Re-export it from its source.`,
    );
  }
  const geoms: FrameGeometry[] = [];
  for (let f = 0; f < frames; f++) {
    if (enhanced) {
      const pos = vec3(nums(functionalGroup(ds, f, TAG.planePosition), TAG.ipp));
      const ori = orientation(nums(functionalGroup(ds, f, TAG.planeOrientation), TAG.iop), p.name);
      const measures = functionalGroup(ds, f, TAG.pixelMeasures);
      const sp = spacingPair(nums(measures, TAG.pixelSpacing));
      const th = num(measures, TAG.sliceThickness);
      const rs = rescaleOf(functionalGroup(ds, f, TAG.pixelValueTransform));
      const ipp = pos ?? (frames === 1 ? topIpp : undefined);
      const iop = ori ?? topIop;
      const pixelSpacing = sp ?? topSpacing;
      const sliceThickness = th ?? topThickness;
      geoms.push({
        ...(ipp ? { ipp } : {}),
        ...(iop ? { iop } : {}),
        ...(pixelSpacing ? { pixelSpacing } : {}),
        ...(sliceThickness !== undefined ? { sliceThickness } : {}),
        slope: rs.slope ?? top.slope ?? 1,
        intercept: rs.intercept ?? top.intercept ?? 0,
      });
      continue;
    }
    let ipp = topIpp;
    if (frames > 1) {
      // Legacy multi-frame: frames stacked along the normal by GridFrameOffsetVector or SpacingBetweenSlices.
      const offsets = nums(ds, TAG.gridFrameOffset);
      const step = num(ds, TAG.spacingBetweenSlices);
      const off =
        offsets?.length === frames ? offsets[f] : step !== undefined && step > 0 ? f * step : undefined;
      if (topIpp && topIop && off !== undefined && Number.isFinite(off)) {
        const n = cross(topIop[0], topIop[1]);
        ipp = [topIpp[0] + off * n[0], topIpp[1] + off * n[1], topIpp[2] + off * n[2]];
      } else {
        ipp = undefined;
      }
    }
    geoms.push({
      ...(ipp ? { ipp } : {}),
      ...(topIop ? { iop: topIop } : {}),
      ...(topSpacing ? { pixelSpacing: topSpacing } : {}),
      ...(topThickness !== undefined ? { sliceThickness: topThickness } : {}),
      slope: top.slope ?? 1,
      intercept: top.intercept ?? 0,
    });
  }
  if (frames > 1 && !enhanced && geoms.some((g) => !g.ipp))
    notes.push(
      `${p.name}: the ${frames} frames carry no positions; they are stacked 1 apart in frame order.`,
    );
  return { geoms, notes };
}
