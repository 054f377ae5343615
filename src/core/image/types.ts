import type { Size } from '../geometry';

export type Modality = 'CT' | 'MR' | 'US' | 'OT';

export type ScalarArray =
  Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

export type Vec3 = readonly [number, number, number];
/**
 * Direction cosines, column-major by index axis: [ix, iy, iz, jx, jy, jz, kx, ky, kz] gives the world
 * (LPS, as in DICOM) direction of increasing i, j and k.
 */
export type Mat3 = readonly [number, number, number, number, number, number, number, number, number];

/**
 * A scalar volume on a regular grid. i (columns) varies fastest, then j (rows), then k (slices).
 * Values are in physical units where the format has them (CT in HU after rescale slope/intercept).
 * World coordinates are LPS millimetres (DICOM's patient frame); NIfTI's RAS is converted on read.
 */
export interface Volume {
  readonly dims: Vec3;
  /** Millimetres per voxel along i, j, k. */
  readonly spacing: Vec3;
  /** False for 2D images that carry no physical size (PNG without a pixel-size table): metrics are in px. */
  readonly spacingKnown: boolean;
  /** LPS world position of voxel (0, 0, 0)'s centre. */
  readonly origin: Vec3;
  readonly direction: Mat3;
  readonly data: ScalarArray;
  readonly modality: Modality;
  /** Frame of reference UID for DICOM-derived grids; used to refuse ground truth from another frame. */
  readonly frameOfReference?: string;
}

/** One 2D slice in display orientation (rows top to bottom, columns left to right). */
export interface Slice extends Size {
  readonly data: ScalarArray;
  /** Millimetres per pixel: [column spacing (x), row spacing (y)]. */
  readonly spacing: readonly [number, number];
  readonly spacingKnown: boolean;
}

/** 8-bit RGB, interleaved, what both models' preprocessing starts from. */
export interface Rgb8Image extends Size {
  readonly data: Uint8Array;
}

/** Binary mask (0/1) on a slice grid. */
export interface Mask extends Size {
  readonly data: Uint8Array;
}

export const IDENTITY3: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];
