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
  return resizeBilinearInto(src, inW, inH, outW, outH, cropW, cropH, new Float32Array(cropW * cropH));
}

/**
 * Scratch buffers reused from call to call (grow-only). A fresh multi-megabyte typed array per decode
 * costs more than the arithmetic where the browser maps new pages for it: in Chromium on the benchmark
 * machine, touching 1 MiB of new ArrayBuffer took ~5 ms while the resize itself took ~0.5 ms.
 */
let rowScratch = new Float64Array(0);
const planeScratch: [Float32Array, Float32Array] = [new Float32Array(0), new Float32Array(0)];
function plane(i: 0 | 1, n: number): Float32Array {
  if (planeScratch[i].length < n) planeScratch[i] = new Float32Array(n);
  return planeScratch[i].subarray(0, n);
}

/** {@link resizeBilinear} into `out` (length ≥ cropW·cropH). */
export function resizeBilinearInto(
  src: Float32Array,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
  cropW: number,
  cropH: number,
  out: Float32Array,
): Float32Array {
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
  // Separable: each source row is interpolated along x once (in float64, as the direct formula computes
  // it), then output rows blend two of those. Same operations in the same order, so the same bits.
  if (rowScratch.length < inH * cropW) rowScratch = new Float64Array(inH * cropW);
  const rows = rowScratch;
  const ready = new Uint8Array(inH);
  const rowAt = (y: number): number => {
    const base = y * cropW;
    if (ready[y]) return base;
    ready[y] = 1;
    const r = y * inW;
    for (let x = 0; x < cropW; x++) {
      const wx = fxs[x] ?? 0;
      rows[base + x] = (src[r + (x0s[x] ?? 0)] ?? 0) * (1 - wx) + (src[r + (x1s[x] ?? 0)] ?? 0) * wx;
    }
    return base;
  };
  for (let y = 0; y < cropH; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    const y0 = Math.min(Math.floor(fy), inH - 1);
    const y1 = Math.min(y0 + 1, inH - 1);
    const wy = fy - y0;
    const t = rowAt(y0);
    const b = rowAt(y1);
    const o = y * cropW;
    for (let x = 0; x < cropW; x++) out[o + x] = (rows[t + x] ?? 0) * (1 - wy) + (rows[b + x] ?? 0) * wy;
  }
  return out;
}

/**
 * Low-resolution logits → binary mask and area at the slice size, through reused scratch planes. With
 * `via`, first to the `via` grid cropped to `crop` (SAM: the padded 1024² frame, cropped to the resized
 * content), then to the slice; without it, straight to the slice (SAM 2). Same values as resizing with
 * {@link resizeBilinear} and thresholding.
 */
export function upsampleToMask(
  low: Float32Array,
  lowW: number,
  lowH: number,
  outW: number,
  outH: number,
  via?: { readonly side: number; readonly cropW: number; readonly cropH: number },
): { mask: Uint8Array; area: number } {
  let src = low;
  let w = lowW;
  let h = lowH;
  if (via) {
    src = resizeBilinearInto(
      low,
      lowW,
      lowH,
      via.side,
      via.side,
      via.cropW,
      via.cropH,
      plane(0, via.cropW * via.cropH),
    );
    w = via.cropW;
    h = via.cropH;
  }
  return maskAndArea(resizeBilinearInto(src, w, h, outW, outH, outW, outH, plane(1, outW * outH)));
}

/** Logits → binary mask at threshold 0 and its pixel count, in one pass. */
export function maskAndArea(logits: Float32Array): { mask: Uint8Array; area: number } {
  const n = logits.length;
  const mask = new Uint8Array(n);
  let area = 0;
  for (let i = 0; i < n; i++) {
    if ((logits[i] ?? 0) > 0) {
      mask[i] = 1;
      area++;
    }
  }
  return { mask, area };
}
