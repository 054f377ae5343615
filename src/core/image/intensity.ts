import type { Modality, Rgb8Image, ScalarArray, Slice } from './types';

export interface CtWindowPreset {
  readonly id: 'abdomen' | 'liver' | 'bone' | 'lung' | 'brain';
  readonly label: string;
  readonly center: number;
  readonly width: number;
}

/** The protocol's default is abdomen W400/L40 (evaluation-protocol.md); the others are common radiology presets. */
export const CT_PRESETS: readonly CtWindowPreset[] = [
  { id: 'abdomen', label: 'Abdomen W400/L40', center: 40, width: 400 },
  { id: 'liver', label: 'Liver W150/L30', center: 30, width: 150 },
  { id: 'bone', label: 'Bone W1800/L400', center: 400, width: 1800 },
  { id: 'lung', label: 'Lung W1500/L−600', center: -600, width: 1500 },
  { id: 'brain', label: 'Brain W80/L40', center: 40, width: 80 },
];

/**
 * How grey values become 8-bit model input. Recorded with every result: the same window must feed both
 * models, and a result is not reproducible without it.
 */
export type IntensityWindow =
  | { readonly kind: 'window'; readonly center: number; readonly width: number }
  | {
      readonly kind: 'percentile';
      readonly lower: number;
      readonly upper: number;
      readonly scope: 'slice' | 'volume';
      /** The grey values the percentiles resolved to; filled in once computed. */
      readonly low?: number;
      readonly high?: number;
    }
  | { readonly kind: 'identity' };

export function defaultWindow(modality: Modality, is8bit: boolean): IntensityWindow {
  if (is8bit) return { kind: 'identity' };
  if (modality === 'CT') return { kind: 'window', center: 40, width: 400 };
  return { kind: 'percentile', lower: 0.5, upper: 99.5, scope: 'slice' };
}

export function describeWindow(w: IntensityWindow): string {
  switch (w.kind) {
    case 'window':
      return `W${fmt(w.width)}/L${fmt(w.center)}`;
    case 'percentile':
      return `p${w.lower}–p${w.upper} (${w.scope}${
        w.low !== undefined && w.high !== undefined ? ` ${fmt(w.low)}…${fmt(w.high)}` : ''
      })`;
    case 'identity':
      return '8-bit as stored';
  }
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** Linear window: lower edge → 0, upper edge → 255, clamped, rounded to nearest. */
export function applyLinear(values: ScalarArray, low: number, high: number, out?: Uint8Array): Uint8Array {
  const res = out ?? new Uint8Array(values.length);
  const span = high - low;
  if (!(span > 0) || !Number.isFinite(span)) {
    // Constant image or degenerate window: everything at or above the level is white.
    for (let i = 0; i < values.length; i++) res[i] = (values[i] ?? 0) >= high ? 255 : 0;
    return res;
  }
  for (let i = 0; i < values.length; i++) {
    // Multiply before dividing: (v-low)*255/span is exact for integer windows, so the level maps to 128.
    const v = (((values[i] ?? 0) - low) * 255) / span;
    res[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return res;
}

export function windowBounds(center: number, width: number): { low: number; high: number } {
  return { low: center - width / 2, high: center + width / 2 };
}

/**
 * Percentiles (0–100) of an array, by a 65 536-bin histogram between min and max with linear
 * interpolation inside the bin: exact for integer data up to 16 bits, and within (max-min)/65536 otherwise.
 * NaN values are ignored. Works on whole volumes without sorting a copy.
 */
export function percentiles(values: ScalarArray, ps: readonly number[]): number[] {
  let min = Infinity;
  let max = -Infinity;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? NaN;
    if (Number.isNaN(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    n++;
  }
  if (n === 0) return ps.map(() => 0);
  if (min === max) return ps.map(() => min);
  const isInt = !(values instanceof Float32Array || values instanceof Float64Array);
  const bins = isInt ? Math.min(65536, max - min + 1) : 65536;
  const width = isInt ? 1 : (max - min) / bins;
  const hist = new Float64Array(bins);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? NaN;
    if (Number.isNaN(v)) continue;
    let b = isInt ? v - min : Math.floor((v - min) / width);
    if (b >= bins) b = bins - 1;
    hist[b] = (hist[b] ?? 0) + 1;
  }
  return ps.map((p) => {
    // numpy's default 'linear' method: rank = p/100 * (n-1), interpolated between neighbours.
    const rank = (Math.min(100, Math.max(0, p)) / 100) * (n - 1);
    const lo = Math.floor(rank);
    const frac = rank - lo;
    const a = valueAtRank(hist, lo, min, width, isInt);
    if (frac === 0) return a;
    const b = valueAtRank(hist, lo + 1, min, width, isInt);
    return a + (b - a) * frac;
  });
}

function valueAtRank(hist: Float64Array, rank: number, min: number, width: number, isInt: boolean): number {
  let acc = 0;
  for (let b = 0; b < hist.length; b++) {
    const c = hist[b] ?? 0;
    if (acc + c > rank) {
      if (isInt) return min + b;
      // Spread the bin's values evenly across its width.
      return min + (b + (rank - acc + 0.5) / c) * width;
    }
    acc += c;
  }
  return min + hist.length * width;
}

/** Resolve a window against data (percentiles need the values) into concrete low/high bounds. */
export function resolveWindow(
  w: IntensityWindow,
  slice: ScalarArray,
  volume?: ScalarArray,
): { window: IntensityWindow; low: number; high: number } {
  switch (w.kind) {
    case 'window': {
      const b = windowBounds(w.center, w.width);
      return { window: w, ...b };
    }
    case 'identity':
      return { window: w, low: 0, high: 255 };
    case 'percentile': {
      if (w.low !== undefined && w.high !== undefined) return { window: w, low: w.low, high: w.high };
      const src = w.scope === 'volume' && volume ? volume : slice;
      const [low = 0, high = 0] = percentiles(src, [w.lower, w.upper]);
      return { window: { ...w, low, high }, low, high };
    }
  }
}

/** Grey slice → 8-bit with a window, then replicated to RGB for the encoders. */
export function sliceToRgb8(
  slice: Slice,
  w: IntensityWindow,
  volume?: ScalarArray,
): { image: Rgb8Image; window: IntensityWindow } {
  const r = resolveWindow(w, slice.data, volume);
  const grey = w.kind === 'identity' ? clampToUint8(slice.data) : applyLinear(slice.data, r.low, r.high);
  return { image: greyToRgb8(grey, slice.width, slice.height), window: r.window };
}

export function clampToUint8(values: ScalarArray): Uint8Array {
  if (values instanceof Uint8Array) return values;
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(values[i] ?? 0);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

export function greyToRgb8(grey: Uint8Array, width: number, height: number): Rgb8Image {
  if (grey.length !== width * height) throw new RangeError('grey buffer does not match the slice size');
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < grey.length; i++, j += 3) {
    const g = grey[i] ?? 0;
    data[j] = g;
    data[j + 1] = g;
    data[j + 2] = g;
  }
  return { width, height, data };
}

/** One choice of model-input window, as the viewer, the batch view and the command line offer it. */
export interface WindowChoice {
  readonly id: string;
  readonly label: string;
  /** Undefined for `auto`: the modality's default (CT W400/L40, others percentile 0.5–99.5). */
  readonly window: IntensityWindow | undefined;
  /** Only meaningful for 8-bit images (PNG/JPEG), which are used as stored by default. */
  readonly only8bit?: boolean;
}

/**
 * The one catalogue of window choices (evaluation-protocol.md "Intensity input"): every place that offers
 * a window takes its ids and labels from here, so a result's window means the same everywhere.
 */
export const WINDOW_CHOICES: readonly WindowChoice[] = [
  { id: 'auto', label: 'by modality (CT W400/L40, others percentile 0.5–99.5)', window: undefined },
  ...CT_PRESETS.map((p): WindowChoice => ({
    id: p.id,
    label: `CT ${p.label}`,
    window: { kind: 'window', center: p.center, width: p.width },
  })),
  {
    id: 'percentile',
    label: 'Percentile 0.5–99.5 (slice)',
    window: { kind: 'percentile', lower: 0.5, upper: 99.5, scope: 'slice' },
  },
  {
    id: 'percentile-volume',
    label: 'Percentile 0.5–99.5 (volume)',
    window: { kind: 'percentile', lower: 0.5, upper: 99.5, scope: 'volume' },
  },
  { id: 'identity', label: '8-bit as stored', window: { kind: 'identity' }, only8bit: true },
];

/** A model-input window by name: a CT preset id, `percentile`, `percentile-volume`, `identity`; `auto` → undefined. */
export function windowByName(id: string): IntensityWindow | undefined {
  return WINDOW_CHOICES.find((c) => c.id === id)?.window;
}
