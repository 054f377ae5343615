/** Synthetic test scenes: non-square 8-bit images with uniform shapes and their exact masks. */
import type { Mask, Rgb8Image } from '../image/types';
import { rngFromKey } from '../prompts/rng';
import { diskMask, rectMask } from './shapes';

export interface Scene {
  readonly image: Rgb8Image;
  readonly grey: Uint8Array;
  readonly masks: Readonly<Record<'disk' | 'rect' | 'corner', Mask>>;
}

/**
 * A disk (bright), a rectangle (mid grey) and a small disk near the far corner, on a dark noisy
 * background. The far-corner disk catches clicks scaled by the wrong axis ratio.
 */
export function twoShapeScene(width: number, height: number, seed = 'scene'): Scene {
  const s = Math.min(width, height);
  const disk = diskMask(
    width,
    height,
    Math.round(width * 0.3),
    Math.round(height * 0.5),
    Math.round(s * 0.2),
  );
  const rect = rectMask(
    width,
    height,
    Math.round(width * 0.6),
    Math.round(height * 0.25),
    Math.round(width * 0.85),
    Math.round(height * 0.7),
  );
  const corner = diskMask(
    width,
    height,
    width - Math.round(s * 0.1),
    height - Math.round(s * 0.1),
    Math.round(s * 0.06),
  );
  const rng = rngFromKey(seed);
  const grey = new Uint8Array(width * height);
  for (let i = 0; i < grey.length; i++) {
    const base = disk.data[i] ? 200 : rect.data[i] ? 120 : corner.data[i] ? 240 : 40;
    grey[i] = Math.max(0, Math.min(255, base + Math.round((rng.next() - 0.5) * 16)));
  }
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < grey.length; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = grey[i] ?? 0;
  return { image: { width, height, data }, grey, masks: { disk, rect, corner } };
}
