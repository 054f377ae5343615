/**
 * Overlay drawing on a canvas laid over each viewport: model masks as translucent fills, the ground-truth
 * contour, and prompts. Everything is drawn in image-pixel coordinates through an affine map to canvas
 * pixels that the controller derives from the viewport's camera, so overlays follow zoom and pan exactly.
 */
import type { Affine2 } from '../core/geometry';
import type { Mask } from '../core/image/types';
import type { PromptBox, PromptPoint } from '../core/prompts/types';

export interface Rgba {
  readonly r: number;
  readonly g: number;
  readonly b: number;
  readonly a: number;
}

export const COLORS = {
  sam: { r: 255, g: 158, b: 61, a: 0.45 },
  sam2: { r: 88, g: 166, b: 255, a: 0.45 },
  gt: '#f2cc60',
  positive: '#39d353',
  negative: '#ff4d8d',
} as const;

/**
 * Offscreen bitmap of a pane's mask in one colour (alpha where the mask is set). One per pane, repainted
 * in place: a fresh canvas and ImageData per click meant fresh memory pages on every decode, which
 * the main thread pays for (about 5 ms per MiB on the VMs we measure on; see docs/performance.md).
 */
export class MaskPainter {
  private canvas: HTMLCanvasElement | null = null;
  private image: ImageData | null = null;

  paint(mask: Mask, color: Rgba): HTMLCanvasElement {
    const c = this.canvas ?? document.createElement('canvas');
    this.canvas = c;
    if (c.width !== mask.width || c.height !== mask.height) {
      c.width = mask.width;
      c.height = mask.height;
      this.image = null;
    }
    const ctx = c.getContext('2d');
    if (!ctx) return c;
    const img = this.image ?? ctx.createImageData(mask.width, mask.height);
    this.image = img;
    // One 32-bit write per pixel; the packed value is built in memory order, so endianness cancels.
    const px = new Uint32Array(img.data.buffer, img.data.byteOffset, mask.width * mask.height);
    const on =
      new Uint32Array(Uint8ClampedArray.of(color.r, color.g, color.b, Math.round(color.a * 255)).buffer)[0] ??
      0;
    const m = mask.data;
    for (let i = 0; i < px.length; i++) px[i] = m[i] ? on : 0;
    ctx.putImageData(img, 0, 0);
    return c;
  }
}

/** Pixel-edge contour of a mask as a path in image coordinates (pixel i spans i−0.5 … i+0.5). */
export function contourPath(mask: Mask): Path2D {
  const p = new Path2D();
  const { width: w, height: h, data } = mask;
  const at = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && data[y * w + x] === 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!at(x, y)) continue;
      if (!at(x, y - 1)) {
        p.moveTo(x - 0.5, y - 0.5);
        p.lineTo(x + 0.5, y - 0.5);
      }
      if (!at(x, y + 1)) {
        p.moveTo(x - 0.5, y + 0.5);
        p.lineTo(x + 0.5, y + 0.5);
      }
      if (!at(x - 1, y)) {
        p.moveTo(x - 0.5, y - 0.5);
        p.lineTo(x - 0.5, y + 0.5);
      }
      if (!at(x + 1, y)) {
        p.moveTo(x + 0.5, y - 0.5);
        p.lineTo(x + 0.5, y + 0.5);
      }
    }
  }
  return p;
}

export interface OverlayScene {
  readonly mask: HTMLCanvasElement | null;
  readonly maskSize: { readonly width: number; readonly height: number } | null;
  readonly gt: Path2D | null;
  readonly points: readonly PromptPoint[];
  readonly box: PromptBox | null;
  /** Box being dragged, in image px. */
  readonly draft: PromptBox | null;
  readonly showGt: boolean;
  readonly showMask: boolean;
}

export function drawOverlay(ctx: CanvasRenderingContext2D, dpr: number, m: Affine2, s: OverlayScene): void {
  const { canvas } = ctx;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  // image px → device px
  const [a, b, c, d, e, f] = m;
  ctx.setTransform(a * dpr, d * dpr, b * dpr, e * dpr, c * dpr, f * dpr);
  if (s.showMask && s.mask && s.maskSize) {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(s.mask, -0.5, -0.5, s.maskSize.width, s.maskSize.height);
  }
  const scale = Math.hypot(a, d) || 1;
  if (s.showGt && s.gt) {
    ctx.strokeStyle = COLORS.gt;
    ctx.lineWidth = 1.5 / scale;
    ctx.setLineDash([4 / scale, 3 / scale]);
    ctx.stroke(s.gt);
    ctx.setLineDash([]);
  }
  const box = s.draft ?? s.box;
  if (box) {
    ctx.strokeStyle = COLORS.positive;
    ctx.lineWidth = 2 / scale;
    ctx.setLineDash(s.draft ? [6 / scale, 4 / scale] : []);
    ctx.strokeRect(box.x0 - 0.5, box.y0 - 0.5, box.x1 - box.x0 + 1, box.y1 - box.y0 + 1);
    ctx.setLineDash([]);
  }
  // Prompts in device pixels so they keep their size at any zoom.
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  for (const p of s.points) {
    const x = (a * p.x + b * p.y + c) * dpr;
    const y = (d * p.x + e * p.y + f) * dpr;
    const r = 6 * dpr;
    ctx.lineWidth = 2 * dpr;
    ctx.fillStyle = p.label === 1 ? COLORS.positive : COLORS.negative;
    ctx.strokeStyle = '#000';
    ctx.beginPath();
    ctx.arc(x, y, r, 0, Math.PI * 2);
    ctx.fill();
    ctx.stroke();
    ctx.strokeStyle = '#000';
    ctx.beginPath();
    ctx.moveTo(x - r * 0.55, y);
    ctx.lineTo(x + r * 0.55, y);
    if (p.label === 1) {
      ctx.moveTo(x, y - r * 0.55);
      ctx.lineTo(x, y + r * 0.55);
    }
    ctx.stroke();
  }
}
