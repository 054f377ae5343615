/** How the compare side tells the user that something failed: one toast per error, never a throw. */
import { toAppError, type AppError } from '../../core/errors';
import { useCompareStore } from '../../state/compare';

export function report(err: AppError): void {
  useCompareStore.getState().toast('error', err.message, err.detail);
}

/** Runs an action; a failure clears the loading note and is reported. */
export async function guard(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    useCompareStore.getState().patch({ loading: null });
    report(toAppError(e, 'internal', what));
  }
}
