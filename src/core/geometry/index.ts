/**
 * Coordinate spaces, each a branded type so that a point in one frame cannot be passed where another is
 * expected (the most reported bug class in browser SAM apps is a click scaled by the wrong ratio).
 *
 * - ImagePx: pixel-index coordinates of the original slice. (0, 0) is the centre of the top-left pixel,
 *   (W-1, H-1) the centre of the bottom-right one; x runs along columns, y along rows. This is the frame
 *   SAM's predictors take points in (the models add 0.5 internally to reach pixel centres).
 * - ModelPx: the same point in the model's 1024 frame (resized, before padding), what `point_coords`
 *   and `input_points` expect.
 * - CanvasPx: CSS pixels on a viewport canvas; only the viewer converts to and from it.
 */
declare const brand: unique symbol;
type Branded<T, B extends string> = T & { readonly [brand]: B };

export interface Vec2 {
  readonly x: number;
  readonly y: number;
}
export type ImagePx = Branded<Vec2, 'ImagePx'>;
export type ModelPx = Branded<Vec2, 'ModelPx'>;
export type CanvasPx = Branded<Vec2, 'CanvasPx'>;

export const imagePx = (x: number, y: number): ImagePx => ({ x, y }) as ImagePx;
export const modelPx = (x: number, y: number): ModelPx => ({ x, y }) as ModelPx;

export interface Size {
  readonly width: number;
  readonly height: number;
}

/**
 * The ways the exports map a slice onto the 1024² encoder input:
 * - `longest-side`: Meta's ResizeLongestSide, `int(H * 1024 / max(H, W) + 0.5)`, zero padding bottom/right.
 * - `longest-side-floor`: the transformers.js image processor (`size.longest_edge`), which floors the
 *   resized side (after rounding to 2 decimals) instead of rounding it; e.g. 500×333 → 1024×681, not 682.
 * - `stretch`: SAM 2's resize to 1024×1024 without keeping the aspect ratio.
 */
export type FrameKind = 'longest-side' | 'longest-side-floor' | 'stretch';

export const MODEL_SIDE = 1024;

/**
 * The model frame for one slice: how the slice is resized inside the 1024² input, and the per-axis
 * scale from ImagePx to ModelPx. For `longest-side`, the resized size is rounded as in SAM's
 * ResizeLongestSide (`int(H * 1024 / max(H, W) + 0.5)`) and the rest is zero padding at bottom/right;
 * x and y therefore scale by slightly different ratios (newW/W and newH/H), exactly as the exports do.
 */
export interface ModelFrame {
  readonly kind: FrameKind;
  readonly image: Size;
  /** Size of the image content inside the 1024² input (the rest is padding for `longest-side`). */
  readonly resized: Size;
  readonly scaleX: number;
  readonly scaleY: number;
}

export function longestSideSize(image: Size, target = MODEL_SIDE): Size {
  assertSize(image);
  const scale = target / Math.max(image.width, image.height);
  return {
    width: Math.floor(image.width * scale + 0.5),
    height: Math.floor(image.height * scale + 0.5),
  };
}

/** transformers.js: `Math.floor(Number((side * factor).toFixed(2)))` with factor = min(1024/W, 1024/H). */
export function longestSideFloorSize(image: Size, target = MODEL_SIDE): Size {
  assertSize(image);
  const f = Math.min(target / image.width, target / image.height);
  return {
    width: Math.floor(Number((image.width * f).toFixed(2))),
    height: Math.floor(Number((image.height * f).toFixed(2))),
  };
}

export function resizedSize(kind: FrameKind, image: Size): Size {
  switch (kind) {
    case 'longest-side':
      return longestSideSize(image);
    case 'longest-side-floor':
      return longestSideFloorSize(image);
    case 'stretch':
      assertSize(image);
      return { width: MODEL_SIDE, height: MODEL_SIDE };
  }
}

export function modelFrame(kind: FrameKind, image: Size): ModelFrame {
  const resized = resizedSize(kind, image);
  return {
    kind,
    image,
    resized,
    scaleX: resized.width / image.width,
    scaleY: resized.height / image.height,
  };
}

export function imageToModel(frame: ModelFrame, p: ImagePx): ModelPx {
  return modelPx(p.x * frame.scaleX, p.y * frame.scaleY);
}

export function modelToImage(frame: ModelFrame, p: ModelPx): ImagePx {
  return imagePx(p.x / frame.scaleX, p.y / frame.scaleY);
}

function assertSize(s: Size): void {
  if (!(Number.isInteger(s.width) && Number.isInteger(s.height) && s.width > 0 && s.height > 0)) {
    throw new RangeError(`image size must be positive integers, got ${s.width}×${s.height}`);
  }
}

/** 2D affine map, row-major [a, b, c, d, e, f]: x' = a x + b y + c; y' = d x + e y + f. */
export type Affine2 = readonly [number, number, number, number, number, number];

export function applyAffine(m: Affine2, x: number, y: number): Vec2 {
  return { x: m[0] * x + m[1] * y + m[2], y: m[3] * x + m[4] * y + m[5] };
}

export function invertAffine(m: Affine2): Affine2 {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) throw new RangeError('affine map is singular');
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}
