import type { Mask } from '../image/types';
import { centreClick, centroidClick, jitteredBox, negativeClicks, randomPositives } from './generators';
import { rngFor, type SeedKey } from './rng';
import { promptPoint, type PromptSet } from './types';

export type StrategyId = 'centre-random' | 'pos-neg' | 'box' | 'error-region';

export const STRATEGY_LABELS: Record<StrategyId, string> = {
  'centre-random': 'centre + random positives',
  'pos-neg': '1 positive + negatives',
  box: 'box (GT ± shift)',
  'error-region': 'error-region clicks (iterative)',
};

export interface ProtocolSettings {
  readonly seed: number;
  readonly strategies: readonly StrategyId[];
  /** Positive clicks for the centre-random curve: n = 1 … maxPoints. */
  readonly maxPoints: number;
  readonly firstClick: 'centre' | 'centroid';
  readonly negatives: number;
  readonly negMargin: number;
  readonly boxShift: number;
  /** Minimum structure area in pixels for a slice to be a unit. */
  readonly minArea: number;
}

/** The reproduction's defaults (evaluation-protocol.md). */
export const DEFAULT_PROTOCOL: ProtocolSettings = {
  seed: 42,
  strategies: ['centre-random', 'pos-neg'],
  maxPoints: 5,
  firstClick: 'centre',
  negatives: 2,
  negMargin: 15,
  boxShift: 5,
  minArea: 50,
};

export interface PlannedPrompt {
  readonly strategy: StrategyId;
  /** Number of positive clicks (0 for a box alone). */
  readonly n: number;
  readonly prompt: PromptSet;
}

/** The first click of a unit, shared by every strategy that starts with one. */
export function firstClick(mask: Mask, settings: ProtocolSettings, key: SeedKey) {
  return settings.firstClick === 'centroid' ? centroidClick(mask) : centreClick(mask, rngFor(key, 'centre'));
}

/**
 * Every prompt set of one unit (slice × structure) for the non-iterative strategies. Each strategy draws
 * from its own seeded stream, so adding a strategy or raising maxPoints never changes the others' points.
 * error-region prompts depend on model output and are produced by the runner with errorRegionClick.
 */
export function planPrompts(mask: Mask, settings: ProtocolSettings, key: SeedKey): PlannedPrompt[] {
  const out: PlannedPrompt[] = [];
  const first = firstClick(mask, settings, key);
  const pos = promptPoint(first.x, first.y, 1);
  for (const s of settings.strategies) {
    if (s === 'centre-random') {
      const extra = randomPositives(mask, [first], settings.maxPoints - 1, rngFor(key, 'random-positive'));
      const all = [pos, ...extra.map((p) => promptPoint(p.x, p.y, 1))];
      for (let n = 1; n <= all.length; n++) out.push({ strategy: s, n, prompt: { points: all.slice(0, n) } });
    } else if (s === 'pos-neg') {
      const negs = negativeClicks(
        mask,
        [first],
        settings.negatives,
        settings.negMargin,
        rngFor(key, 'negatives'),
      );
      out.push({
        strategy: s,
        n: 1,
        prompt: { points: [pos, ...negs.map((p) => promptPoint(p.x, p.y, 0))] },
      });
    } else if (s === 'box') {
      out.push({
        strategy: s,
        n: 0,
        prompt: { points: [], box: jitteredBox(mask, settings.boxShift, rngFor(key, 'box')) },
      });
    } else {
      // error-region: the runner starts from the first click and adds correction clicks after each decode.
      out.push({ strategy: s, n: 1, prompt: { points: [pos] } });
    }
  }
  return out;
}
