import { describe, expect, it } from 'vitest';
import { EMPTY_PROMPTS, historyKey, PromptHistory, type PromptState } from './history';
import { promptPoint } from './types';

const one: PromptState = { points: [promptPoint(3, 4, 1)], box: null };
const two: PromptState = { points: [promptPoint(3, 4, 1), promptPoint(9, 1, 0)], box: null };
const boxed: PromptState = { points: [], box: { x0: 1, y0: 2, x1: 5, y1: 6 } };

describe('PromptHistory', () => {
  it('starts empty with nothing to undo or redo', () => {
    const h = new PromptHistory();
    expect(h.view('0|1')).toEqual({ ...EMPTY_PROMPTS, canUndo: false, canRedo: false });
    expect(h.undo('0|1')).toBeNull();
    expect(h.redo('0|1')).toBeNull();
  });

  it('undoes back to the empty state and redoes forward again', () => {
    const h = new PromptHistory();
    const k = historyKey(4, 2);
    expect(h.push(k, one)).toEqual({ ...one, canUndo: true, canRedo: false });
    expect(h.push(k, two)).toEqual({ ...two, canUndo: true, canRedo: false });
    expect(h.undo(k)).toEqual({ ...one, canUndo: true, canRedo: true });
    expect(h.undo(k)).toEqual({ ...EMPTY_PROMPTS, canUndo: false, canRedo: true });
    expect(h.undo(k)).toBeNull();
    expect(h.redo(k)).toEqual({ ...one, canUndo: true, canRedo: true });
    expect(h.redo(k)).toEqual({ ...two, canUndo: true, canRedo: false });
    expect(h.redo(k)).toBeNull();
  });

  it('a push after an undo drops what could have been redone', () => {
    const h = new PromptHistory();
    const k = historyKey(0, null);
    h.push(k, one);
    h.push(k, two);
    h.undo(k);
    expect(h.push(k, boxed)).toEqual({ ...boxed, canUndo: true, canRedo: false });
    expect(h.undo(k)).toEqual({ ...one, canUndo: true, canRedo: true });
    expect(h.redo(k)).toEqual({ ...boxed, canUndo: true, canRedo: false });
  });

  it('keeps one stack per slice and structure', () => {
    const h = new PromptHistory();
    h.push(historyKey(5, 1), one);
    h.push(historyKey(5, 2), boxed);
    expect(h.view(historyKey(5, 1))).toEqual({ ...one, canUndo: true, canRedo: false });
    expect(h.view(historyKey(5, 2))).toEqual({ ...boxed, canUndo: true, canRedo: false });
    expect(h.view(historyKey(6, 1))).toEqual({ ...EMPTY_PROMPTS, canUndo: false, canRedo: false });
    expect(historyKey(5, null)).toBe('5|none');
  });

  it('clear forgets every stack', () => {
    const h = new PromptHistory();
    h.push('a', one);
    h.clear();
    expect(h.view('a').points).toEqual([]);
    expect(h.undo('a')).toBeNull();
  });
});
