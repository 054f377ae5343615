import type { Mask } from './types';

const INF = 1e20;

/**
 * One-dimensional squared distance transform (Felzenszwalb & Huttenlocher 2012) over samples spaced
 * `step` apart: out[p] = min_q ((p - q)·step)² + f[q]. `v`/`z` are scratch buffers of length n and n+1.
 */
function dt1d(
  f: Float64Array,
  n: number,
  step: number,
  out: Float64Array,
  v: Int32Array,
  z: Float64Array,
): void {
  const s2 = step * step;
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    const fq = (f[q] ?? INF) + s2 * q * q;
    let vk = v[k] ?? 0;
    let s = (fq - ((f[vk] ?? INF) + s2 * vk * vk)) / (2 * s2 * (q - vk));
    while (s <= (z[k] ?? -Infinity)) {
      k--;
      vk = v[k] ?? 0;
      s = (fq - ((f[vk] ?? INF) + s2 * vk * vk)) / (2 * s2 * (q - vk));
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while ((z[k + 1] ?? Infinity) < q) k++;
    const vk = v[k] ?? 0;
    const d = (q - vk) * step;
    out[q] = d * d + (f[vk] ?? INF);
  }
}

/**
 * Exact squared Euclidean distance from every pixel to the nearest pixel where `isFeature` is 1, in units
 * of the given spacing (mm when spacing is physical). Pixels with no feature anywhere get +Infinity.
 */
export function squaredDistanceToFeatures(
  isFeature: Uint8Array,
  width: number,
  height: number,
  spacingX = 1,
  spacingY = 1,
): Float64Array {
  const n = width * height;
  const g = new Float64Array(n);
  const maxN = Math.max(width, height);
  const f = new Float64Array(maxN);
  const out = new Float64Array(maxN);
  const v = new Int32Array(maxN);
  const z = new Float64Array(maxN + 1);
  // Columns first (along y), then rows (along x).
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = isFeature[y * width + x] ? 0 : INF;
    dt1d(f, height, spacingY, out, v, z);
    for (let y = 0; y < height; y++) g[y * width + x] = out[y] ?? INF;
  }
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) f[x] = g[row + x] ?? INF;
    dt1d(f, width, spacingX, out, v, z);
    for (let x = 0; x < width; x++) {
      const d = out[x] ?? INF;
      g[row + x] = d >= INF / 2 ? Infinity : d;
    }
  }
  return g;
}

/**
 * Squared distance (in pixels) from each mask pixel to the nearest background pixel, where everything
 * outside the image counts as background, so a structure touching the border has its centre pulled inwards.
 * Background pixels get 0.
 */
export function squaredDistanceInside(mask: Mask): Float64Array {
  const W = mask.width + 2;
  const H = mask.height + 2;
  const bg = new Uint8Array(W * H).fill(1);
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x]) bg[(y + 1) * W + x + 1] = 0;
    }
  }
  const padded = squaredDistanceToFeatures(bg, W, H);
  const out = new Float64Array(mask.width * mask.height);
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) out[y * mask.width + x] = padded[(y + 1) * W + x + 1] ?? 0;
  }
  return out;
}

export interface Components {
  /** 0 = background, 1..count = component id. */
  readonly labels: Int32Array;
  readonly count: number;
  /** sizes[id] = pixel count of component id (sizes[0] unused). */
  readonly sizes: number[];
}

/** Connected components of the non-zero pixels, 8-connected by default (two-pass union-find). */
export function connectedComponents(mask: Mask, connectivity: 4 | 8 = 8): Components {
  const { width: w, height: h, data } = mask;
  const labels = new Int32Array(w * h);
  const parent: number[] = [0];
  const find = (a: number): number => {
    let r = a;
    while ((parent[r] ?? r) !== r) r = parent[r] ?? r;
    let c = a;
    while ((parent[c] ?? c) !== r) {
      const next = parent[c] ?? c;
      parent[c] = r;
      c = next;
    }
    return r;
  };
  const union = (a: number, b: number): number => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return ra;
    const lo = Math.min(ra, rb);
    parent[Math.max(ra, rb)] = lo;
    return lo;
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!data[i]) continue;
      let lab = 0;
      const consider = (j: number) => {
        const l = labels[j] ?? 0;
        if (l) lab = lab ? union(lab, l) : find(l);
      };
      if (x > 0) consider(i - 1);
      if (y > 0) {
        consider(i - w);
        if (connectivity === 8) {
          if (x > 0) consider(i - w - 1);
          if (x < w - 1) consider(i - w + 1);
        }
      }
      if (!lab) {
        lab = parent.length;
        parent.push(lab);
      }
      labels[i] = lab;
    }
  }
  const remap = new Int32Array(parent.length);
  let count = 0;
  const sizes: number[] = [0];
  for (let l = 1; l < parent.length; l++) {
    const r = find(l);
    if (r === l) {
      remap[l] = ++count;
      sizes.push(0);
    }
  }
  for (let l = 1; l < parent.length; l++) remap[l] = remap[find(l)] ?? 0;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] ?? 0;
    if (l) {
      const id = remap[l] ?? 0;
      labels[i] = id;
      sizes[id] = (sizes[id] ?? 0) + 1;
    }
  }
  return { labels, count, sizes };
}

/** The largest connected component as its own mask (ties: the one met first in raster order). */
export function largestComponent(mask: Mask, connectivity: 4 | 8 = 8): Mask {
  const cc = connectedComponents(mask, connectivity);
  let best = 0;
  let bestSize = 0;
  for (let id = 1; id <= cc.count; id++) {
    const s = cc.sizes[id] ?? 0;
    if (s > bestSize) {
      best = id;
      bestSize = s;
    }
  }
  const out = new Uint8Array(mask.data.length);
  if (best) for (let i = 0; i < out.length; i++) out[i] = cc.labels[i] === best ? 1 : 0;
  return { width: mask.width, height: mask.height, data: out };
}

/** Pixels of the mask with a 4-neighbour outside it (the image edge counts as outside). */
export function boundary(mask: Mask): Uint8Array {
  const { width: w, height: h, data } = mask;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!data[i]) continue;
      if (
        x === 0 ||
        y === 0 ||
        x === w - 1 ||
        y === h - 1 ||
        !data[i - 1] ||
        !data[i + 1] ||
        !data[i - w] ||
        !data[i + w]
      ) {
        out[i] = 1;
      }
    }
  }
  return out;
}

export function area(mask: Mask): number {
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) n++;
  return n;
}

/** Bounding box of the non-zero pixels, inclusive pixel indices, or null for an empty mask. */
export function boundingBox(mask: Mask): { x0: number; y0: number; x1: number; y1: number } | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1, y1 };
}

/**
 * Fills the inside of closed outlines (HC18 ellipse annotations): flood-fills the background from the image
 * border through 4-connected non-outline pixels; everything not reached (the outline and its inside) is 1.
 */
export function fillOutline(outline: Mask): Mask {
  const { width: w, height: h, data } = outline;
  const reached = new Uint8Array(w * h);
  const stack: number[] = [];
  const push = (i: number) => {
    if (!data[i] && !reached[i]) {
      reached[i] = 1;
      stack.push(i);
    }
  };
  for (let x = 0; x < w; x++) {
    push(x);
    push((h - 1) * w + x);
  }
  for (let y = 0; y < h; y++) {
    push(y * w);
    push(y * w + w - 1);
  }
  while (stack.length) {
    const i = stack.pop() ?? 0;
    const x = i % w;
    const y = (i - x) / w;
    if (x > 0) push(i - 1);
    if (x < w - 1) push(i + 1);
    if (y > 0) push(i - w);
    if (y < h - 1) push(i + w);
  }
  const out = new Uint8Array(w * h);
  for (let i = 0; i < out.length; i++) out[i] = reached[i] ? 0 : 1;
  return { width: w, height: h, data: out };
}
