import { AppError } from '../errors';
import type { Mask, Mat3, ScalarArray, Slice, Vec3, Volume } from './types';

export function voxelToWorld(
  v: Pick<Volume, 'origin' | 'spacing' | 'direction'>,
  i: number,
  j: number,
  k: number,
): Vec3 {
  const d = v.direction;
  const si = i * v.spacing[0];
  const sj = j * v.spacing[1];
  const sk = k * v.spacing[2];
  return [
    v.origin[0] + d[0] * si + d[3] * sj + d[6] * sk,
    v.origin[1] + d[1] * si + d[4] * sj + d[7] * sk,
    v.origin[2] + d[2] * si + d[5] * sj + d[8] * sk,
  ];
}

/** Inverse of voxelToWorld for an orthonormal direction matrix. */
export function worldToVoxel(v: Pick<Volume, 'origin' | 'spacing' | 'direction'>, p: Vec3): Vec3 {
  const d = v.direction;
  const x = p[0] - v.origin[0];
  const y = p[1] - v.origin[1];
  const z = p[2] - v.origin[2];
  return [
    (d[0] * x + d[1] * y + d[2] * z) / v.spacing[0],
    (d[3] * x + d[4] * y + d[5] * z) / v.spacing[1],
    (d[6] * x + d[7] * y + d[8] * z) / v.spacing[2],
  ];
}

const PERMS: readonly (readonly [number, number, number])[] = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];

/**
 * Reorders and flips the index axes (no resampling) so that i runs towards patient Left, j towards
 * Posterior and k towards Superior, the nearest match for oblique grids. An axial slice k is then in
 * radiological display orientation: anterior at the top, the patient's right on the viewer's left.
 * Returns the input unchanged when it is already in that order.
 */
export function canonicalize<V extends Volume>(v: V): V {
  const d = v.direction;
  const col = (a: number): Vec3 => [d[3 * a] ?? 0, d[3 * a + 1] ?? 0, d[3 * a + 2] ?? 0];
  // perm[w] = index axis that best aligns with world axis w.
  let best: readonly [number, number, number] = [0, 1, 2];
  let bestScore = -1;
  for (const perm of PERMS) {
    let s = 0;
    for (let w = 0; w < 3; w++) s += Math.abs(col(perm[w] ?? 0)[w] ?? 0);
    if (s > bestScore + 1e-9) {
      bestScore = s;
      best = perm;
    }
  }
  const signs = [0, 1, 2].map((w) => ((col(best[w] ?? 0)[w] ?? 0) < 0 ? -1 : 1));
  const identity = best[0] === 0 && best[1] === 1 && best[2] === 2 && signs.every((s) => s === 1);
  if (identity) return v;

  const oldStrides = [1, v.dims[0], v.dims[0] * v.dims[1]];
  const newDims = [0, 1, 2].map((w) => v.dims[best[w] ?? 0]) as unknown as Vec3;
  const newSpacing = [0, 1, 2].map((w) => v.spacing[best[w] ?? 0]) as unknown as Vec3;
  // Old index of the new (0,0,0): the far end of every flipped axis.
  const start = [0, 0, 0];
  for (let w = 0; w < 3; w++) {
    const a = best[w] ?? 0;
    if (signs[w] === -1) start[a] = (v.dims[a] ?? 1) - 1;
  }
  const origin = voxelToWorld(v, start[0] ?? 0, start[1] ?? 0, start[2] ?? 0);
  const dirCols: number[] = [];
  for (let w = 0; w < 3; w++) {
    const c = col(best[w] ?? 0);
    const s = signs[w] ?? 1;
    // "+ 0" turns -0 into 0 so canonical directions compare equal to the identity.
    dirCols.push(c[0] * s + 0, c[1] * s + 0, c[2] * s + 0);
  }
  const step = [0, 1, 2].map((w) => (oldStrides[best[w] ?? 0] ?? 0) * (signs[w] ?? 1));
  const base =
    (start[0] ?? 0) + (start[1] ?? 0) * (oldStrides[1] ?? 0) + (start[2] ?? 0) * (oldStrides[2] ?? 0);
  const Ctor = v.data.constructor as new (n: number) => ScalarArray;
  const out = new Ctor(v.data.length);
  const [nx, ny, nz] = newDims;
  const [sx = 0, sy = 0, sz = 0] = step;
  let o = 0;
  for (let k = 0; k < nz; k++) {
    const bk = base + k * sz;
    for (let j = 0; j < ny; j++) {
      let src = bk + j * sy;
      for (let i = 0; i < nx; i++, src += sx) out[o++] = v.data[src] ?? 0;
    }
  }
  return {
    ...v,
    dims: newDims,
    spacing: newSpacing,
    origin,
    direction: dirCols as unknown as Mat3,
    data: out,
  };
}

export function sliceCount(v: Volume): number {
  return v.dims[2];
}

/** Axial slice k of a (canonical) volume, a view on the volume's buffer (no copy). */
export function axialSlice(v: Volume, k: number): Slice {
  const [nx, ny, nz] = v.dims;
  if (!Number.isInteger(k) || k < 0 || k >= nz) {
    throw new AppError('invalid-argument', `Slice ${k} is outside this volume (0–${nz - 1}).`);
  }
  const n = nx * ny;
  return {
    width: nx,
    height: ny,
    data: v.data.subarray(k * n, (k + 1) * n),
    spacing: [v.spacing[0], v.spacing[1]],
    spacingKnown: v.spacingKnown,
  };
}

/** Binary mask of voxels equal to `value` (label map → one structure). */
export function maskOfLabel(data: ScalarArray, width: number, height: number, value: number): Mask {
  if (data.length !== width * height) throw new RangeError('label slice does not match its size');
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] === value ? 1 : 0;
  return { width, height, data: out };
}

/** Sorted distinct non-zero values of a label map. */
export function labelValues(data: ScalarArray): number[] {
  const seen = new Set<number>();
  for (let i = 0; i < data.length; i++) {
    const v = data[i] ?? 0;
    if (v !== 0) seen.add(v);
  }
  return [...seen].sort((a, b) => a - b);
}

/** Voxel count per non-zero label on each slice: the table the protocol's minArea filter reads. */
export function labelAreasPerSlice(labels: Volume): Map<number, Uint32Array> {
  const [nx, ny, nz] = labels.dims;
  const n = nx * ny;
  const out = new Map<number, Uint32Array>();
  for (let k = 0; k < nz; k++) {
    const off = k * n;
    for (let i = 0; i < n; i++) {
      const v = labels.data[off + i] ?? 0;
      if (v === 0) continue;
      let arr = out.get(v);
      if (!arr) {
        arr = new Uint32Array(nz);
        out.set(v, arr);
      }
      arr[k] = (arr[k] ?? 0) + 1;
    }
  }
  return out;
}

export interface GridTolerance {
  /** Relative spacing difference allowed (float32 affines round). */
  readonly spacingRel: number;
  /** Origin difference allowed, as a fraction of the smallest spacing. */
  readonly originFrac: number;
  readonly directionAbs: number;
}
const DEFAULT_TOL: GridTolerance = { spacingRel: 1e-3, originFrac: 0.1, directionAbs: 1e-3 };

/**
 * Strict same-grid check for ground truth against its image: size, spacing, origin, orientation and (when
 * both have one) frame of reference. A mismatch is an error, never a silent resample.
 */
export function assertSameGrid(
  image: Volume,
  labels: Volume,
  what = 'Ground truth',
  tol = DEFAULT_TOL,
): void {
  const fail = (reason: string): never => {
    throw new AppError(
      'grid-mismatch',
      `${what} is on a different grid from the image (${reason}). Load the mask that belongs to this image; masks are never resampled silently.`,
      { subject: 'ground-truth', detail: reason },
    );
  };
  const d = (v: Vec3) => v.join('×');
  if (image.dims.some((x, i) => x !== labels.dims[i])) fail(`size ${d(labels.dims)} vs ${d(image.dims)}`);
  if (image.spacingKnown && labels.spacingKnown) {
    for (let i = 0; i < 3; i++) {
      const a = image.spacing[i] ?? 1;
      const b = labels.spacing[i] ?? 1;
      if (Math.abs(a - b) > tol.spacingRel * Math.max(Math.abs(a), 1e-6)) {
        fail(
          `spacing ${labels.spacing.map((x) => x.toFixed(3)).join('×')} mm vs ${image.spacing.map((x) => x.toFixed(3)).join('×')} mm`,
        );
      }
    }
    for (let i = 0; i < 9; i++) {
      if (Math.abs((image.direction[i] ?? 0) - (labels.direction[i] ?? 0)) > tol.directionAbs)
        fail('orientation differs');
    }
    const minSp = Math.min(...image.spacing);
    for (let i = 0; i < 3; i++) {
      if (Math.abs((image.origin[i] ?? 0) - (labels.origin[i] ?? 0)) > tol.originFrac * minSp) {
        fail(
          `origin ${labels.origin.map((x) => x.toFixed(2)).join(', ')} vs ${image.origin.map((x) => x.toFixed(2)).join(', ')} mm`,
        );
      }
    }
  }
  if (
    image.frameOfReference &&
    labels.frameOfReference &&
    image.frameOfReference !== labels.frameOfReference
  ) {
    fail('frame of reference differs');
  }
}

/**
 * Maps data on a canonical grid back onto the source grid it was canonicalized from (both describe the
 * same voxels; only the index order differs), so exports line up with the original file.
 */
export function toSourceGrid<T extends ScalarArray>(
  data: T,
  canonical: Pick<Volume, 'dims' | 'spacing' | 'origin' | 'direction'>,
  source: Pick<Volume, 'dims' | 'spacing' | 'origin' | 'direction'>,
): T {
  const Ctor = data.constructor as new (n: number) => T;
  const [sx, sy, sz] = source.dims;
  const [cx, cy] = canonical.dims;
  const out = new Ctor(sx * sy * sz);
  let o = 0;
  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      for (let i = 0; i < sx; i++, o++) {
        const [a, b, c] = worldToVoxel(canonical, voxelToWorld(source, i, j, k));
        out[o] = data[Math.round(c) * cx * cy + Math.round(b) * cx + Math.round(a)] ?? 0;
      }
    }
  }
  return out;
}
