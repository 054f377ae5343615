/**
 * Statistics for the SAM vs SAM 2 comparison: descriptives, paired comparisons (seeded percentile bootstrap
 * of the mean difference, Wilcoxon signed-rank test) and grouping helpers.
 *
 * Conventions:
 * - A value that is NaN or null is *missing*: it is left out and counted, never silently treated as 0.
 *   ±Infinity and non-numbers are invalid input (AppError 'invalid-argument').
 * - Quantiles use numpy's default 'linear' method (Hyndman & Fan type 7), including numpy's interpolation
 *   formula, so that values agree with `np.quantile` / `np.percentile` to the last bit or nearly so.
 * - Differences are always B − A. The Wilcoxon test follows `scipy.stats.wilcoxon(b, a)` with its defaults
 *   (scipy 1.17: zero_method='wilcox', correction=False, alternative='two-sided', method='auto'); see
 *   {@link wilcoxonSignedRank} for the exact rules and the one deliberate deviation.
 * - Randomness comes only from the seeded PRNG: same inputs and seed give bit-identical results.
 */
import { AppError } from '../errors';
import { rngFromKey } from '../prompts/rng';

/** A measurement that may be missing: NaN or null. */
export type MaybeNumber = number | null;

export interface Describe {
  /** Number of present (non-missing) values. */
  readonly n: number;
  /** Number of NaN/null values left out. */
  readonly nMissing: number;
  readonly mean: number;
  /** Sample standard deviation (ddof = 1); NaN when n < 2. */
  readonly sd: number;
  readonly median: number;
  /** 25th percentile, numpy 'linear'. */
  readonly q1: number;
  /** 75th percentile, numpy 'linear'. */
  readonly q3: number;
  readonly iqr: number;
  readonly min: number;
  readonly max: number;
}

function invalid(message: string, subject: string): AppError {
  return new AppError('invalid-argument', message, { subject });
}

/** True for a missing value (null or NaN); throws for ±Infinity and anything that is not a number. */
function isMissing(v: unknown, subject: string, index: number): v is null {
  if (v === null) return true;
  if (typeof v !== 'number') {
    throw invalid(
      `${subject}[${index}] is not a number (got ${typeof v}); use null or NaN for a missing value.`,
      subject,
    );
  }
  if (Number.isNaN(v)) return true;
  if (!Number.isFinite(v)) {
    throw invalid(
      `${subject}[${index}] is ${v}; statistics need finite values (use null or NaN for a missing value).`,
      subject,
    );
  }
  return false;
}

/** Sum with Neumaier compensation: at least as accurate as numpy's pairwise summation. */
function sum(values: ArrayLike<number>): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? 0;
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  return s + c;
}

/**
 * Quantile `q` ∈ [0, 1] of an ascending-sorted array with numpy's default 'linear' method: virtual index
 * (n − 1)·q, interpolated with numpy's `_lerp` (which switches to `b − (b − a)(1 − t)` for t ≥ 0.5).
 * NaN for an empty array.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw invalid(`quantile level must be in [0, 1], got ${q}.`, 'q');
  const n = sorted.length;
  if (n === 0) return NaN;
  const virtual = (n - 1) * q;
  const lo = Math.floor(virtual);
  const hi = Math.min(n - 1, lo + 1);
  const t = virtual - lo;
  const a = sorted[lo] ?? NaN;
  const b = sorted[hi] ?? NaN;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

function presentValues(
  values: readonly MaybeNumber[],
  subject: string,
): { present: number[]; missing: number } {
  const present: number[] = [];
  let missing = 0;
  values.forEach((v, i) => {
    if (isMissing(v, subject, i)) missing++;
    else present.push(v);
  });
  return { present, missing };
}

function describeSorted(sorted: Float64Array, nMissing: number): Describe {
  const n = sorted.length;
  if (n === 0) {
    return { n, nMissing, mean: NaN, sd: NaN, median: NaN, q1: NaN, q3: NaN, iqr: NaN, min: NaN, max: NaN };
  }
  const mean = sum(sorted) / n;
  let sd = NaN;
  if (n >= 2) {
    const sq = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const d = (sorted[i] ?? 0) - mean;
      sq[i] = d * d;
    }
    sd = Math.sqrt(sum(sq) / (n - 1));
  }
  // np.median averages the two middle values for an even n.
  const mid = n >> 1;
  const median = n % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  return {
    n,
    nMissing,
    mean,
    sd,
    median,
    q1,
    q3,
    iqr: q3 - q1,
    min: sorted[0] ?? NaN,
    max: sorted[n - 1] ?? NaN,
  };
}

/**
 * Descriptive statistics of the present values; NaN and null are left out and counted in `nMissing`.
 * With no present value every statistic is NaN; `sd` is NaN for fewer than two values (numpy gives NaN
 * with a warning for ddof = 1 and n = 1).
 */
export function describe(values: readonly MaybeNumber[]): Describe {
  const { present, missing } = presentValues(values, 'values');
  return describeSorted(Float64Array.from(present).sort(), missing);
}

// ---------------------------------------------------------------------------------------------------------
// Normal distribution

const SQRT_PI = Math.sqrt(Math.PI);

/**
 * erfc(x) for x ≥ 0: power series of erf (all terms positive) below 1.5, Lentz's continued fraction above.
 * Relative error around 1e-14 or better (checked against scipy.special.ndtr in the tests).
 */
function erfcNonNegative(x: number): number {
  if (x < 1.5) {
    // erf(x) = 2/√π · e^{−x²} · Σ_{k≥0} 2^k x^{2k+1} / (1·3·…·(2k+1))
    const x2 = x * x;
    let term = x;
    let s = x;
    for (let k = 1; k < 200; k++) {
      term *= (2 * x2) / (2 * k + 1);
      s += term;
      if (term < s * 1e-17) break;
    }
    return 1 - (2 / SQRT_PI) * Math.exp(-x2) * s;
  }
  if (x > 27.5) return 0; // e^{−x²} underflows to 0 beyond x ≈ 27.3.
  // erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), modified Lentz.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 5000; k++) {
    const ak = k / 2;
    d = x + ak * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = x + ak / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / SQRT_PI / f;
}

/** Upper tail of the standard normal, P(Z > z) (scipy.special.ndtr(−z)). */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z >= 0) return 0.5 * erfcNonNegative(z * Math.SQRT1_2);
  return 1 - 0.5 * erfcNonNegative(-z * Math.SQRT1_2);
}

// ---------------------------------------------------------------------------------------------------------
// Wilcoxon signed-rank test

/**
 * - 'exact': exact null distribution of R+ (no ties, no zero differences, at most 50 differences).
 * - 'exact-permutation': exact sign-flip distribution of R+ with average ranks (ties or zero differences,
 *   at most 13 differences in all, zeros included): what scipy's PermutationMethod computes exhaustively.
 * - 'normal': normal approximation with tie correction (and continuity correction if asked for).
 * - 'none': no non-zero difference; p = 1 by convention.
 */
export type WilcoxonMethod = 'exact' | 'exact-permutation' | 'normal' | 'none';

export interface WilcoxonOptions {
  /**
   * Continuity correction in the normal approximation: z − sign(z)·0.5/σ. Default false, as scipy's
   * `correction=False` default. Has no effect on the exact methods.
   */
  readonly continuityCorrection?: boolean;
}

export interface WilcoxonResult {
  /** min(R+, R−), as scipy reports for a two-sided test. */
  readonly statistic: number;
  /** Sum of the ranks of the positive differences. */
  readonly rPlus: number;
  readonly rMinus: number;
  /** Two-sided p-value. */
  readonly p: number;
  readonly method: WilcoxonMethod;
  /** Differences that entered the ranking (non-zero). */
  readonly nNonZero: number;
  /** Zero differences, dropped before ranking (zero_method='wilcox'). */
  readonly nZeros: number;
  /** Standardised R+ (after continuity correction if used) for 'normal'; null otherwise. */
  readonly z: number | null;
  readonly continuityCorrected: boolean;
}

/** Average ranks (1-based) of `values`, plus Σ(t³ − t) over tie groups and whether any tie exists. */
function averageRanks(values: readonly number[]): { ranks: Float64Array; tieTerm: number; hasTies: boolean } {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((i, j) => (values[i] ?? 0) - (values[j] ?? 0));
  const ranks = new Float64Array(n);
  let tieTerm = 0;
  let hasTies = false;
  let i = 0;
  while (i < n) {
    let j = i + 1;
    const v = values[order[i] ?? 0] ?? 0;
    while (j < n && values[order[j] ?? 0] === v) j++;
    const t = j - i;
    const r = (i + 1 + j) / 2; // average of ranks i+1 … j
    for (let k = i; k < j; k++) ranks[order[k] ?? 0] = r;
    if (t > 1) {
      hasTies = true;
      tieTerm += t * t * t - t;
    }
    i = j;
  }
  return { ranks, tieTerm, hasTies };
}

/**
 * Number of sign assignments giving each value of 2·R+, for ranks given doubled (integers). Counts are
 * exact integers: at most 2^50 < 2^53 for the sizes used here.
 */
function signFlipCounts(doubledRanks: readonly number[]): Float64Array {
  let total = 0;
  for (const r of doubledRanks) total += r;
  let counts = new Float64Array(total + 1);
  counts[0] = 1;
  let reach = 0;
  for (const r of doubledRanks) {
    const next = new Float64Array(total + 1);
    for (let s = 0; s <= reach; s++) {
      const c = counts[s] ?? 0;
      if (c === 0) continue;
      next[s] = (next[s] ?? 0) + c;
      next[s + r] = (next[s + r] ?? 0) + c;
    }
    reach += r;
    counts = next;
  }
  return counts;
}

/** Two-sided p from the exact distribution: min(1, 2·min(P(S ≤ s), P(S ≥ s))), S = 2·R+. */
function exactTwoSided(doubledRanks: readonly number[], observedDoubled: number): number {
  const counts = signFlipCounts(doubledRanks);
  let le = 0;
  let ge = 0;
  for (let s = 0; s < counts.length; s++) {
    const c = counts[s] ?? 0;
    if (s <= observedDoubled) le += c;
    if (s >= observedDoubled) ge += c;
  }
  const total = 2 ** doubledRanks.length;
  return Math.min(1, (2 * Math.min(le, ge)) / total);
}

/**
 * Two-sided Wilcoxon signed-rank test of the differences `d` against a zero median, following
 * `scipy.stats.wilcoxon(d)` with scipy 1.17's defaults:
 * - zero_method='wilcox': zero differences are dropped before ranking (counted in `nZeros`);
 * - |d| ranked with average ranks for ties;
 * - method='auto': with N = all differences (zeros included) —
 *   N ≤ 50, no ties and no zeros → exact null distribution ('exact');
 *   N ≤ 13 with ties or zeros → exact sign-flip permutation distribution ('exact-permutation'; scipy runs
 *   an exhaustive `permutation_test` there, since 2^13 < its 9999 resamples);
 *   otherwise → normal approximation ('normal') with mean m(m+1)/4 and variance
 *   [m(m+1)(2m+1) − Σ(t³ − t)/2] / 24 over the m non-zero differences (tie correction), without continuity
 *   correction unless `continuityCorrection` is set (scipy's `correction=False` default);
 * - statistic = min(R+, R−).
 * Deviation: with no non-zero difference (no differences at all, or only zeros) this returns p = 1,
 * statistic 0 and method 'none'. scipy returns NaN for an empty sample and for more than 13 zeros (its
 * normal approximation divides 0 by 0), and p = 1 for 1–13 zeros.
 */
export function wilcoxonSignedRank(d: readonly number[], opts: WilcoxonOptions = {}): WilcoxonResult {
  const cc = opts.continuityCorrection ?? false;
  const nonZero: number[] = [];
  d.forEach((v, i) => {
    if (!Number.isFinite(v)) {
      throw invalid(
        `differences[${i}] is ${String(v)}; the Wilcoxon test needs finite differences.`,
        'differences',
      );
    }
    if (v !== 0) nonZero.push(v);
  });
  const nTotal = d.length;
  const m = nonZero.length;
  const nZeros = nTotal - m;
  if (m === 0) {
    return {
      statistic: 0,
      rPlus: 0,
      rMinus: 0,
      p: 1,
      method: 'none',
      nNonZero: 0,
      nZeros,
      z: null,
      continuityCorrected: false,
    };
  }
  const { ranks, tieTerm, hasTies } = averageRanks(nonZero.map(Math.abs));
  let rPlus = 0;
  let rMinus = 0;
  nonZero.forEach((v, i) => {
    const r = ranks[i] ?? 0;
    if (v > 0) rPlus += r;
    else rMinus += r;
  });
  const statistic = Math.min(rPlus, rMinus);
  const base = { statistic, rPlus, rMinus, nNonZero: m, nZeros };

  const exactAllowed = nTotal <= 50 && !hasTies && nZeros === 0;
  const permutationAllowed = !exactAllowed && nTotal <= 13;
  if (exactAllowed || permutationAllowed) {
    // Average ranks are multiples of 1/2, so doubled ranks and 2·R+ are exact integers.
    const doubled = Array.from(ranks, (r) => Math.round(2 * r));
    const p = exactTwoSided(doubled, Math.round(2 * rPlus));
    return {
      ...base,
      p,
      method: exactAllowed ? 'exact' : 'exact-permutation',
      z: null,
      continuityCorrected: false,
    };
  }

  const mean = (m * (m + 1)) / 4;
  const se = Math.sqrt((m * (m + 1) * (2 * m + 1) - tieTerm / 2) / 24);
  let z = (rPlus - mean) / se;
  if (cc) z -= (Math.sign(z) * 0.5) / se;
  const p = Math.min(1, 2 * normalSf(Math.abs(z)));
  return { ...base, p, method: 'normal', z, continuityCorrected: cc };
}

// ---------------------------------------------------------------------------------------------------------
// Paired comparison

export interface PairedOptions extends WilcoxonOptions {
  /** Key for the bootstrap PRNG: the same seed (and data) gives the identical interval. */
  readonly seed: string;
  /** Bootstrap resamples; default 10 000. */
  readonly resamples?: number;
  /** Confidence level of the interval, in (0, 1); default 0.95. */
  readonly confidence?: number;
  /**
   * Which values win a pair: 'higher' (Dice, IoU, NSD; the default) or 'lower' (distances such as HD95).
   * Only the win counts depend on it; the difference is always B − A.
   */
  readonly better?: 'higher' | 'lower';
}

export interface PairedComparison {
  /** Complete pairs used (both values present). */
  readonly n: number;
  /** Pairs left out because A or B (or both) was NaN/null. */
  readonly nDropped: number;
  /** Mean of B − A over the complete pairs; NaN when n = 0. */
  readonly meanDiff: number;
  /** Percentile-bootstrap interval of the mean difference; NaN when n = 0. */
  readonly ciLow: number;
  readonly ciHigh: number;
  readonly confidence: number;
  readonly resamples: number;
  /** Two-sided Wilcoxon signed-rank p-value of B − A (see {@link wilcoxonSignedRank}). */
  readonly wilcoxonP: number;
  /** min(R+, R−). */
  readonly wilcoxonStatistic: number;
  /** Standardised R+ when the normal approximation was used, else null. Positive: B tends to exceed A. */
  readonly wilcoxonZ: number | null;
  /** Which Wilcoxon computation gave the p-value. */
  readonly method: WilcoxonMethod;
  readonly continuityCorrected: boolean;
  /** Units where A is better than B (higher, or lower for a distance: `better`). */
  readonly winsA: number;
  /** Units where B is better than A. */
  readonly winsB: number;
  /** Units with A = B (the zero differences that the Wilcoxon test drops). */
  readonly ties: number;
}

const DEFAULT_RESAMPLES = 10_000;
const DEFAULT_CONFIDENCE = 0.95;
const MAX_RESAMPLES = 10_000_000;

function checkPairedOptions(opts: PairedOptions): { resamples: number; confidence: number } {
  const seed: unknown = opts.seed;
  if (typeof seed !== 'string') throw invalid('The bootstrap seed must be a string.', 'seed');
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  if (!Number.isInteger(resamples) || resamples < 1 || resamples > MAX_RESAMPLES) {
    throw invalid(`resamples must be an integer from 1 to ${MAX_RESAMPLES}, got ${resamples}.`, 'resamples');
  }
  const confidence = opts.confidence ?? DEFAULT_CONFIDENCE;
  if (!(confidence > 0 && confidence < 1)) {
    throw invalid(`confidence must be strictly between 0 and 1, got ${confidence}.`, 'confidence');
  }
  return { resamples, confidence };
}

/**
 * Percentile bootstrap of the mean of `d`: `resamples` resamples of size n drawn with replacement (indices
 * from the seeded PRNG, in order), their means sorted, and the (1 − c)/2 and (1 + c)/2 quantiles taken with
 * numpy's 'linear' method (as `np.percentile` would on the same bootstrap distribution).
 */
function bootstrapMeanCi(
  d: readonly number[],
  seed: string,
  resamples: number,
  confidence: number,
): { low: number; high: number } {
  const n = d.length;
  if (n === 0) return { low: NaN, high: NaN };
  const rng = rngFromKey(seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[rng.int(n)] ?? 0;
    means[b] = s / n;
  }
  means.sort();
  const alpha = 1 - confidence;
  return { low: quantileSorted(means, alpha / 2), high: quantileSorted(means, 1 - alpha / 2) };
}

/**
 * Paired comparison of B − A on the same units (a[i] and b[i] are one unit). Pairs with a missing value on
 * either side are dropped and counted in `nDropped`. Mean difference with a seeded percentile-bootstrap
 * interval (pairs resampled with replacement), Wilcoxon signed-rank test, and win/tie counts.
 */
export function pairedComparison(
  a: readonly MaybeNumber[],
  b: readonly MaybeNumber[],
  opts: PairedOptions,
): PairedComparison {
  if (a.length !== b.length) {
    throw invalid(
      `Paired samples must have one value per unit on each side: A has ${a.length}, B has ${b.length}.`,
      'b',
    );
  }
  const { resamples, confidence } = checkPairedOptions(opts);
  const lowerWins = opts.better === 'lower';
  const d: number[] = [];
  let nDropped = 0;
  let winsA = 0;
  let winsB = 0;
  let ties = 0;
  for (let i = 0; i < a.length; i++) {
    const va = a[i] ?? null;
    const vb = b[i] ?? null;
    // Evaluate both so that an invalid value on either side is reported even when the other is missing.
    const missA = isMissing(va, 'a', i);
    const missB = isMissing(vb, 'b', i);
    if (missA || missB) {
      nDropped++;
      continue;
    }
    if (va === vb) ties++;
    else if (lowerWins ? va < vb : va > vb) winsA++;
    else winsB++;
    d.push(vb - va);
  }
  const n = d.length;
  const meanDiff = n === 0 ? NaN : sum(d) / n;
  const ci = bootstrapMeanCi(d, opts.seed, resamples, confidence);
  const w = wilcoxonSignedRank(d, opts);
  return {
    n,
    nDropped,
    meanDiff,
    ciLow: ci.low,
    ciHigh: ci.high,
    confidence,
    resamples,
    wilcoxonP: w.p,
    wilcoxonStatistic: w.statistic,
    wilcoxonZ: w.z,
    method: w.method,
    continuityCorrected: w.continuityCorrected,
    winsA,
    winsB,
    ties,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Grouping

/**
 * Descriptives of `valueOf(row)` per `keyOf(row)`. Groups appear in the order their first row appears;
 * a null/NaN value counts in that group's `nMissing`.
 */
export function aggregate<T>(
  rows: readonly T[],
  keyOf: (r: T) => string,
  valueOf: (r: T) => MaybeNumber,
): Map<string, Describe> {
  const groups = new Map<string, MaybeNumber[]>();
  for (const r of rows) {
    const k = keyOf(r);
    let g = groups.get(k);
    if (g === undefined) {
      g = [];
      groups.set(k, g);
    }
    g.push(valueOf(r));
  }
  const out = new Map<string, Describe>();
  for (const [k, values] of groups) {
    const { present, missing } = presentValues(values, `values of group ${k}`);
    out.set(k, describeSorted(Float64Array.from(present).sort(), missing));
  }
  return out;
}

export interface PairedRowSpec<T> {
  /** The group a row belongs to (dataset, prompt mode, …). */
  readonly groupOf: (r: T) => string;
  /** The unit that pairs an A row with a B row inside a group (case|slice|label, …). */
  readonly unitOf: (r: T) => string;
  /** Which side a row is on; null leaves the row out (a third model, say). */
  readonly armOf: (r: T) => 'a' | 'b' | null;
  readonly valueOf: (r: T) => MaybeNumber;
}

export interface PairedGroupComparison extends PairedComparison {
  readonly group: string;
  /** Units of this group that have an A row but no B row (not in `n` nor `nDropped`). */
  readonly unmatchedA: number;
  /** Units of this group that have a B row but no A row. */
  readonly unmatchedB: number;
}

/**
 * {@link pairedComparison} per group, pairing A and B rows by unit key within each group. Units are put in
 * ascending code-unit order of their key before resampling, so the result does not depend on row order.
 * Each group's bootstrap is seeded with `${opts.seed}|${group}`: reproducible and independent of which
 * other groups exist. Two rows for the same group, unit and side are ambiguous and rejected.
 * Groups appear in the order their first A or B row appears.
 */
export function aggregatePaired<T>(
  rows: readonly T[],
  spec: PairedRowSpec<T>,
  opts: PairedOptions,
): Map<string, PairedGroupComparison> {
  checkPairedOptions(opts);
  const groups = new Map<string, { a: Map<string, MaybeNumber>; b: Map<string, MaybeNumber> }>();
  for (const r of rows) {
    const arm = spec.armOf(r);
    if (arm === null) continue;
    const g = spec.groupOf(r);
    let entry = groups.get(g);
    if (entry === undefined) {
      entry = { a: new Map(), b: new Map() };
      groups.set(g, entry);
    }
    const side = arm === 'a' ? entry.a : entry.b;
    const unit = spec.unitOf(r);
    if (side.has(unit)) {
      throw invalid(
        `Group "${g}" has two ${arm.toUpperCase()} rows for unit "${unit}"; pairing needs one row per unit and side.`,
        unit,
      );
    }
    side.set(unit, spec.valueOf(r));
  }
  const out = new Map<string, PairedGroupComparison>();
  for (const [g, { a, b }] of groups) {
    const units = [...a.keys()].filter((u) => b.has(u)).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    const va = units.map((u) => a.get(u) ?? null);
    const vb = units.map((u) => b.get(u) ?? null);
    const res = pairedComparison(va, vb, { ...opts, seed: `${opts.seed}|${g}` });
    out.set(g, { ...res, group: g, unmatchedA: a.size - units.length, unmatchedB: b.size - units.length });
  }
  return out;
}
