/**
 * A candidate mask's preview over the model input it was decoded from, drawn at the size it is shown
 * (`.thumb canvas` in styles.css is 64 CSS px): a full-size canvas per candidate made every click hand
 * six 1 MiB canvases to the compositor.
 */
import { useEffect, useRef } from 'react';
import { renderThumbnail, thumbnailSize } from '../../core/image/thumbnail';
import type { Rgb8Image } from '../../core/image/types';
import type { Slot } from '../../state/compare';

/** Shown size of a candidate thumbnail, in CSS pixels. */
export const THUMB_CSS_PX = 64;

/** The panes' colours, as the viewer draws their masks. */
const SLOT_RGB: Record<Slot, readonly [number, number, number]> = {
  sam: [255, 158, 61],
  sam2: [88, 166, 255],
};

export interface CandidateThumbnailProps {
  readonly slot: Slot;
  readonly image: Rgb8Image;
  readonly mask: Uint8Array;
}

export function CandidateThumbnail({ slot, image, mask }: CandidateThumbnailProps) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas || mask.length !== image.width * image.height) return;
    const size = thumbnailSize(
      image.width,
      image.height,
      Math.round(THUMB_CSS_PX * (window.devicePixelRatio || 1)),
    );
    if (canvas.width !== size.width || canvas.height !== size.height) {
      canvas.width = size.width;
      canvas.height = size.height;
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(size.width, size.height);
    renderThumbnail(image, mask, size, SLOT_RGB[slot], 0.55, img.data);
    ctx.putImageData(img, 0, 0);
  }, [slot, image, mask]);
  return <canvas ref={ref} />;
}
