import { createContext, useContext } from 'react';
import type { BatchActions, CompareActions } from '../state/services';

export const ActionsContext = createContext<CompareActions | null>(null);
export const BatchActionsContext = createContext<BatchActions | null>(null);

export function useActions(): CompareActions {
  const a = useContext(ActionsContext);
  if (!a) throw new Error('ActionsContext missing: the app must provide the engines');
  return a;
}

export function useBatchActions(): BatchActions {
  const a = useContext(BatchActionsContext);
  if (!a) throw new Error('BatchActionsContext missing: the app must provide the engines');
  return a;
}
