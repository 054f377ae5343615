/**
 * Small previews of a mask over its image (the candidate strip). They are drawn at the size they are
 * shown, not at the image's size: a 512² canvas per candidate cost the main thread a fresh 1 MiB
 * backing and its hand-over to the compositor on every click, six times over.
 */
import type { Size } from '../geometry';
import type { Rgb8Image } from './types';

/** The largest size within `max`×`max` with the image's aspect ratio, never larger than the image. */
export function thumbnailSize(width: number, height: number, max: number): Size {
  const s = Math.min(1, max / width, max / height);
  return {
    width: Math.max(1, Math.min(width, Math.round(width * s))),
    height: Math.max(1, Math.min(height, Math.round(height * s))),
  };
}

/**
 * Box-filtered preview: each preview pixel averages the image over its block and tints it by the
 * fraction of the block the mask covers (`alpha` × coverage), so a structure thinner than a block
 * still shows. Writes RGBA into `out` (length 4 × size) and returns it.
 */
export function renderThumbnail(
  image: Rgb8Image,
  mask: ArrayLike<number>,
  size: Size,
  color: readonly [number, number, number],
  alpha: number,
  out: Uint8ClampedArray = new Uint8ClampedArray(4 * size.width * size.height),
): Uint8ClampedArray {
  const { width: w, height: h, data } = image;
  const { width: tw, height: th } = size;
  if (mask.length !== w * h) throw new RangeError(`mask has ${mask.length} pixels, image ${w}×${h}`);
  if (tw > w || th > h || tw < 1 || th < 1) throw new RangeError(`thumbnail ${tw}×${th} for ${w}×${h}`);
  if (out.length !== 4 * tw * th) throw new RangeError(`output has ${out.length} bytes, need ${4 * tw * th}`);
  // Per block: r, g, b sums, pixel count, mask count.
  const acc = new Float64Array(5 * tw * th);
  const col = new Int32Array(w);
  for (let x = 0; x < w; x++) col[x] = Math.min(tw - 1, Math.floor((x * tw) / w));
  for (let y = 0; y < h; y++) {
    const row = Math.min(th - 1, Math.floor((y * th) / h)) * tw;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const b = 5 * (row + (col[x] ?? 0));
      acc[b] = (acc[b] ?? 0) + (data[3 * i] ?? 0);
      acc[b + 1] = (acc[b + 1] ?? 0) + (data[3 * i + 1] ?? 0);
      acc[b + 2] = (acc[b + 2] ?? 0) + (data[3 * i + 2] ?? 0);
      acc[b + 3] = (acc[b + 3] ?? 0) + 1;
      if (mask[i]) acc[b + 4] = (acc[b + 4] ?? 0) + 1;
    }
  }
  for (let j = 0; j < tw * th; j++) {
    const n = acc[5 * j + 3] ?? 1;
    const m = (alpha * (acc[5 * j + 4] ?? 0)) / n;
    for (let c = 0; c < 3; c++) out[4 * j + c] = ((acc[5 * j + c] ?? 0) / n) * (1 - m) + (color[c] ?? 0) * m;
    out[4 * j + 3] = 255;
  }
  return out;
}
