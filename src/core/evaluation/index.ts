/**
 * The evaluation rules the comparison view, the batch runner and the command line share (one owner each):
 * what a model is fed for a slice, and how a decoded prompt set's candidates are scored and which
 * selection rule picks which. Pure; runs in the worker, on the main thread and in Node.
 */
import { defaultWindow, sliceToRgb8, type IntensityWindow } from '../image/intensity';
import { axialSlice } from '../image/volume';
import type { Mask, Rgb8Image } from '../image/types';
import type { Study } from '../io/study';
import { segMetrics, type SegMetrics } from '../metrics';
import { select, type Selectable, type SelectionRule } from '../models/selection';

/** The two compared models: the pane and the result columns are keyed by this. */
export type Slot = 'sam' | 'sam2';

/** One decoded prompt set as the evaluation needs it (core/models' DecodedSet is one). */
export type DecodedLike = Selectable;

/**
 * The 8-bit RGB image both models get for a slice (evaluation-protocol.md "Intensity input"): RGB images
 * as stored, otherwise the slice through `window` (undefined: the modality's default).
 */
export function modelInput(
  study: Study,
  slice: number,
  window: IntensityWindow | undefined,
): { image: Rgb8Image; window: IntensityWindow } {
  if (study.rgb)
    return {
      image: { width: study.image.dims[0], height: study.image.dims[1], data: study.rgb },
      window: { kind: 'identity' },
    };
  const w = window ?? defaultWindow(study.modality, study.is8bit);
  return sliceToRgb8(axialSlice(study.image, slice), w, study.image.data);
}

export interface ScoredCandidate {
  /** `0`–`2`: the multimask candidates; `single`: Meta's single-mask token. */
  readonly id: string;
  readonly predictedIou: number;
  readonly m: SegMetrics;
  /** The selection rules that pick this candidate. */
  readonly rules: SelectionRule[];
}

const RULES: readonly SelectionRule[] = ['predicted-iou', 'first', 'oracle', 'single'];

/**
 * Scores every candidate of one decoded prompt set against the ground truth and marks which rules pick
 * it, through the same `select` the comparison view uses, so a rule means the same in both. The `single`
 * rule exists only where the decoder has Meta's single-mask token (SAM 2 exports have none).
 */
export function scoreCandidates(
  d: DecodedLike,
  gt: Mask,
  spacing: readonly [number, number],
  tau: number,
): ScoredCandidate[] {
  const metrics = (mask: Uint8Array) =>
    segMetrics({ width: d.width, height: d.height, data: mask }, gt, { spacing, nsdTolerance: tau });
  const out: ScoredCandidate[] = d.candidates.map((c, i) => ({
    id: String(i),
    predictedIou: c.predictedIou,
    m: metrics(c.mask),
    rules: [],
  }));
  if (d.single)
    out.push({ id: 'single', predictedIou: d.single.predictedIou, m: metrics(d.single.mask), rules: [] });
  for (const rule of RULES) {
    if (rule === 'single' && !d.single) continue;
    const s = select(d, rule, gt);
    const id = s.kind === 'single' ? 'single' : String(s.index);
    out.find((x) => x.id === id)?.rules.push(rule);
  }
  return out;
}
