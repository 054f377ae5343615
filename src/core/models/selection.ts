import { AppError } from '../errors';
import type { Mask } from '../image/types';
import { dice } from '../metrics';
import type { DecodedSet, MaskCandidate } from './adapters';

/** Mask-selection rules (evaluation-protocol.md). All candidates are stored; rules apply at analysis time. */
export type SelectionRule = 'predicted-iou' | 'first' | 'oracle' | 'single';

export const SELECTION_LABELS: Record<SelectionRule, string> = {
  'predicted-iou': 'highest predicted IoU',
  first: 'first candidate',
  oracle: 'oracle (best Dice vs GT, an upper bound)',
  single: "Meta's single-mask rule (SAM only)",
};

/** Which output a rule picks: a multimask candidate index, or Meta's single-mask token. */
export type Selected = { readonly kind: 'candidate'; readonly index: number } | { readonly kind: 'single' };

export function argmaxIou(c: readonly { predictedIou: number }[]): number {
  let best = 0;
  for (let i = 1; i < c.length; i++)
    if ((c[i]?.predictedIou ?? -Infinity) > (c[best]?.predictedIou ?? -Infinity)) best = i;
  return best;
}

/**
 * Meta's `--return-single-mask` rule: score = iou + (N − 2.5)·[1000, 0, 0, 0] with N the points in the
 * call (padding point included). One click (+ padding) picks the best of the multimask set; two or more
 * clicks (or a box plus a click) pick token 0.
 */
export function metaSingleMaskPick(pointsInCall: number): 'token0' | 'best-multimask' {
  return pointsInCall - 2.5 > 0 ? 'token0' : 'best-multimask';
}

/** What a rule looks at: the candidates, Meta's single-mask token if any, and the points in the call. */
export interface Selectable {
  readonly width: number;
  readonly height: number;
  readonly candidates: readonly { readonly mask: Uint8Array; readonly predictedIou: number }[];
  readonly single?: { readonly mask: Uint8Array; readonly predictedIou: number };
  readonly pointsInCall: number;
}

export function select(d: Selectable, rule: SelectionRule, gt?: Mask): Selected {
  switch (rule) {
    case 'predicted-iou':
      return { kind: 'candidate', index: argmaxIou(d.candidates) };
    case 'first':
      return { kind: 'candidate', index: 0 };
    case 'oracle': {
      if (!gt)
        throw new AppError('invalid-argument', 'The oracle rule needs ground truth.', {
          subject: 'selection',
        });
      let best = 0;
      let bestDice = -1;
      d.candidates.forEach((c, i) => {
        const s = dice({ width: d.width, height: d.height, data: c.mask }, gt);
        if (s > bestDice) {
          bestDice = s;
          best = i;
        }
      });
      return { kind: 'candidate', index: best };
    }
    case 'single':
      if (!d.single) {
        throw new AppError(
          'invalid-argument',
          "The single-mask rule exists only for Meta's SAM decoder (sam1-meta).",
          {
            subject: 'selection',
          },
        );
      }
      return metaSingleMaskPick(d.pointsInCall) === 'token0'
        ? { kind: 'single' }
        : { kind: 'candidate', index: argmaxIou(d.candidates) };
  }
}

export function selectedCandidate(d: DecodedSet, s: Selected): MaskCandidate {
  if (s.kind === 'single') {
    if (!d.single) throw new AppError('internal', 'no single-mask output');
    return d.single;
  }
  const c = d.candidates[s.index];
  if (!c) throw new AppError('internal', `no candidate ${s.index}`);
  return c;
}

export function selectedMask(d: DecodedSet, rule: SelectionRule, gt?: Mask): Mask {
  return { width: d.width, height: d.height, data: selectedCandidate(d, select(d, rule, gt)).mask };
}
