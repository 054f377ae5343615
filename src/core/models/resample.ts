import type { Rgb8Image } from '../image/types';

/**
 * Triangle-filter weights for one axis, as PIL's BILINEAR resampler computes them: plain bilinear
 * (half-pixel centres) when enlarging, an area-weighted (antialiased) filter when shrinking.
 */
function axisWeights(
  inSize: number,
  outSize: number,
): { start: Int32Array; count: Int32Array; w: Float64Array; taps: number } {
  const scale = inSize / outSize;
  const fscale = Math.max(scale, 1);
  const support = fscale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const w = new Float64Array(outSize * taps);
  for (let x = 0; x < outSize; x++) {
    const center = (x + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    const n = xmax - xmin;
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const t = Math.abs((k + xmin - center + 0.5) / fscale);
      const v = t < 1 ? 1 - t : 0;
      w[x * taps + k] = v;
      sum += v;
    }
    if (sum > 0) for (let k = 0; k < n; k++) w[x * taps + k] = (w[x * taps + k] ?? 0) / sum;
    start[x] = xmin;
    count[x] = n;
  }
  return { start, count, w, taps };
}

/**
 * Resizes an interleaved RGB8 image to planar float channels [3][outH][outW].
 * `round8`: round and clamp to 0–255 after each pass, as resizing a uint8 PIL image does (SAM's
 * ResizeLongestSide); false keeps floats, as torchvision's tensor Resize does (SAM 2's transforms).
 */
export function resizeRgbToPlanar(img: Rgb8Image, outW: number, outH: number, round8: boolean): Float32Array {
  const { width: inW, height: inH, data } = img;
  const out = new Float32Array(3 * outW * outH);
  if (inW === outW && inH === outH) {
    const n = inW * inH;
    for (let i = 0; i < n; i++) {
      out[i] = data[3 * i] ?? 0;
      out[n + i] = data[3 * i + 1] ?? 0;
      out[2 * n + i] = data[3 * i + 2] ?? 0;
    }
    return out;
  }
  const hx = axisWeights(inW, outW);
  const hy = axisWeights(inH, outH);
  const q = (v: number) => (round8 ? (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v)) : v);
  // Horizontal pass into [3][inH][outW].
  const tmp = new Float32Array(3 * inH * outW);
  for (let y = 0; y < inH; y++) {
    const row = y * inW * 3;
    for (let x = 0; x < outW; x++) {
      const s = hx.start[x] ?? 0;
      const n = hx.count[x] ?? 0;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < n; k++) {
        const wk = hx.w[x * hx.taps + k] ?? 0;
        const p = row + (s + k) * 3;
        r += wk * (data[p] ?? 0);
        g += wk * (data[p + 1] ?? 0);
        b += wk * (data[p + 2] ?? 0);
      }
      const o = y * outW + x;
      tmp[o] = q(r);
      tmp[inH * outW + o] = q(g);
      tmp[2 * inH * outW + o] = q(b);
    }
  }
  // Vertical pass.
  for (let c = 0; c < 3; c++) {
    const src = c * inH * outW;
    const dst = c * outH * outW;
    for (let y = 0; y < outH; y++) {
      const s = hy.start[y] ?? 0;
      const n = hy.count[y] ?? 0;
      for (let x = 0; x < outW; x++) {
        let acc = 0;
        for (let k = 0; k < n; k++)
          acc += (hy.w[y * hy.taps + k] ?? 0) * (tmp[src + (s + k) * outW + x] ?? 0);
        out[dst + y * outW + x] = q(acc);
      }
    }
  }
  return out;
}

/**
 * Bilinear resize of one float map, torch `F.interpolate(mode='bilinear', align_corners=False)` and ONNX
 * Resize(linear, half_pixel): no antialiasing, source coordinate (x + 0.5)·in/out − 0.5 clamped at 0.
 * Only the top-left `cropW`×`cropH` of the output grid is computed when given (SAM's crop after upsampling).
 */
export function resizeBilinear(
  src: Float32Array,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
  cropW = outW,
  cropH = outH,
): Float32Array {
  const out = new Float32Array(cropW * cropH);
  const sx = inW / outW;
  const sy = inH / outH;
  const x0s = new Int32Array(cropW);
  const x1s = new Int32Array(cropW);
  const fxs = new Float32Array(cropW);
  for (let x = 0; x < cropW; x++) {
    let fx = (x + 0.5) * sx - 0.5;
    if (fx < 0) fx = 0;
    const x0 = Math.min(Math.floor(fx), inW - 1);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, inW - 1);
    fxs[x] = fx - x0;
  }
  for (let y = 0; y < cropH; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    const y0 = Math.min(Math.floor(fy), inH - 1);
    const y1 = Math.min(y0 + 1, inH - 1);
    const wy = fy - y0;
    const r0 = y0 * inW;
    const r1 = y1 * inW;
    for (let x = 0; x < cropW; x++) {
      const a = x0s[x] ?? 0;
      const b = x1s[x] ?? 0;
      const wx = fxs[x] ?? 0;
      const top = (src[r0 + a] ?? 0) * (1 - wx) + (src[r0 + b] ?? 0) * wx;
      const bot = (src[r1 + a] ?? 0) * (1 - wx) + (src[r1 + b] ?? 0) * wx;
      out[y * cropW + x] = top * (1 - wy) + bot * wy;
    }
  }
  return out;
}

/** Logits → binary mask at threshold 0 (mask = logit > 0). */
export function thresholdLogits(logits: Float32Array): Uint8Array {
  const out = new Uint8Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = (logits[i] ?? 0) > 0 ? 1 : 0;
  return out;
}
