import { describe, expect, it } from 'vitest';
import type { Mask } from '../image/types';
import { scoreCandidates } from '.';

/** 4×1 masks: ground truth covers pixels 0–1. */
const gt: Mask = { width: 4, height: 1, data: Uint8Array.of(1, 1, 0, 0) };
const m = (...v: number[]) => Uint8Array.from(v);

describe('scoreCandidates', () => {
  const candidates = [
    { mask: m(1, 0, 0, 0), predictedIou: 0.5 }, // Dice 2·1/(1+2) = 0.667
    { mask: m(1, 1, 1, 1), predictedIou: 0.9 }, // Dice 2·2/(4+2) = 0.667, highest predicted IoU
    { mask: m(1, 1, 0, 0), predictedIou: 0.7 }, // Dice 1: the oracle
  ];
  const single = { mask: m(0, 1, 0, 0), predictedIou: 0.6 };

  it('marks predicted-iou, first and oracle on the candidates those rules pick, with Dice per candidate', () => {
    const s = scoreCandidates({ width: 4, height: 1, candidates, pointsInCall: 2 }, gt, [1, 1], 2);
    expect(s.map((c) => c.id)).toEqual(['0', '1', '2']);
    expect(s.map((c) => c.rules)).toEqual([['first'], ['predicted-iou'], ['oracle']]);
    expect(s.map((c) => +c.m.dice.toFixed(3))).toEqual([0.667, 0.667, 1]);
  });

  it("applies Meta's single-mask rule: token 0 for 2+ clicks plus padding, best multimask for one", () => {
    const three = scoreCandidates(
      { width: 4, height: 1, candidates, single, pointsInCall: 3 },
      gt,
      [1, 1],
      2,
    );
    expect(three.find((c) => c.id === 'single')?.rules).toEqual(['single']);
    const two = scoreCandidates({ width: 4, height: 1, candidates, single, pointsInCall: 2 }, gt, [1, 1], 2);
    expect(two.find((c) => c.id === 'single')?.rules).toEqual([]);
    expect(two.find((c) => c.id === '1')?.rules).toEqual(['predicted-iou', 'single']);
  });

  it('gives no candidate the single rule where the decoder has no single-mask token (SAM 2)', () => {
    const s = scoreCandidates({ width: 4, height: 1, candidates, pointsInCall: 3 }, gt, [1, 1], 2);
    expect(s.flatMap((c) => c.rules)).not.toContain('single');
  });
});
