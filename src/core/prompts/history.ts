/**
 * Prompt history for the comparison view: one undo/redo stack per (slice, structure), so moving to
 * another slice or structure and back finds the prompts as they were. Pure and synchronous; the
 * session applies the current state to the store and the viewer.
 */
import type { PromptBox, PromptPoint } from './types';

export interface PromptState {
  readonly points: readonly PromptPoint[];
  readonly box: PromptBox | null;
}

/** What the view shows for one key: the current prompts and whether undo/redo can move. */
export interface HistoryView extends PromptState {
  readonly canUndo: boolean;
  readonly canRedo: boolean;
}

export const EMPTY_PROMPTS: PromptState = { points: [], box: null };

interface Stack {
  states: PromptState[];
  index: number;
}

/** The history key of a slice and structure (`null`: no structure chosen). */
export function historyKey(slice: number, structure: number | null): string {
  return `${slice}|${structure ?? 'none'}`;
}

export class PromptHistory {
  private readonly stacks = new Map<string, Stack>();

  /** The state at `key`: empty, with nothing to undo or redo, for a key never pushed to. */
  view(key: string): HistoryView {
    const h = this.stacks.get(key);
    const cur = h?.states[h.index] ?? EMPTY_PROMPTS;
    return {
      points: cur.points,
      box: cur.box,
      canUndo: (h?.index ?? 0) > 0,
      canRedo: h ? h.index < h.states.length - 1 : false,
    };
  }

  /** Adds a state after the current one, dropping whatever could have been redone. */
  push(key: string, state: PromptState): HistoryView {
    const h = this.stacks.get(key) ?? { states: [EMPTY_PROMPTS], index: 0 };
    h.states = h.states.slice(0, h.index + 1);
    h.states.push(state);
    h.index = h.states.length - 1;
    this.stacks.set(key, h);
    return this.view(key);
  }

  /** Steps back; null when there is nothing to undo (nothing changes then). */
  undo(key: string): HistoryView | null {
    const h = this.stacks.get(key);
    if (!h || h.index === 0) return null;
    h.index--;
    return this.view(key);
  }

  /** Steps forward; null when there is nothing to redo. */
  redo(key: string): HistoryView | null {
    const h = this.stacks.get(key);
    if (!h || h.index >= h.states.length - 1) return null;
    h.index++;
    return this.view(key);
  }

  /** Forgets every key (a new study). */
  clear(): void {
    this.stacks.clear();
  }
}
