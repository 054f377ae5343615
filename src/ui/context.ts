import { createContext, useContext } from 'react';
import type { CompareActions } from '../state/services';

export const ActionsContext = createContext<CompareActions | null>(null);

export function useActions(): CompareActions {
  const a = useContext(ActionsContext);
  if (!a) throw new Error('ActionsContext missing: the app must provide the engines');
  return a;
}
