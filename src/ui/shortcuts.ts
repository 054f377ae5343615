import { useEffect } from 'react';
import type { CompareActions } from '../state/services';
import { useCompareStore } from '../state/compare';

export const SHORTCUTS: readonly { keys: string; what: string }[] = [
  { keys: 'click', what: 'positive prompt' },
  { keys: 'right click / Alt+click', what: 'negative prompt' },
  { keys: 'Shift+drag', what: 'box prompt' },
  { keys: 'drag', what: 'window / level' },
  { keys: 'Ctrl+drag / middle drag', what: 'pan' },
  { keys: 'right drag / Ctrl+wheel', what: 'zoom' },
  { keys: 'wheel, ↑ / ↓', what: 'previous / next slice' },
  { keys: 'Ctrl+Z / Z', what: 'undo' },
  { keys: 'Ctrl+Y / Shift+Z', what: 'redo' },
  { keys: 'C', what: 'clear prompts' },
  { keys: 'A', what: 'auto prompt (seeded)' },
  { keys: 'G', what: 'show / hide ground truth' },
  { keys: 'M', what: 'show / hide masks' },
  { keys: 'R', what: 'reset zoom and pan' },
  { keys: '?', what: 'this help' },
];

export function useShortcuts(actions: CompareActions, toggleHelp: () => void): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) return;
      const k = e.key.toLowerCase();
      const s = useCompareStore.getState();
      if ((e.ctrlKey || e.metaKey) && k === 'z' && !e.shiftKey) actions.undo();
      else if (((e.ctrlKey || e.metaKey) && k === 'y') || (e.shiftKey && k === 'z')) actions.redo();
      else if (e.ctrlKey || e.metaKey || e.altKey) return;
      else if (k === 'z') actions.undo();
      else if (k === 'c') actions.clearPrompts();
      else if (k === 'a') actions.autoPrompt();
      else if (k === 'g') actions.toggle('gt');
      else if (k === 'm') actions.toggle('masks');
      else if (k === 'r') actions.resetView();
      else if (k === 'arrowup' || k === 'pageup') actions.setSlice(s.slice + 1);
      else if (k === 'arrowdown' || k === 'pagedown') actions.setSlice(s.slice - 1);
      else if (e.key === '?') toggleHelp();
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [actions, toggleHelp]);
}
