import { AppError, toAppError } from '../errors';
import { DEFAULT_BUDGET, type ReadOptions } from './types';

/** Refuses a declared size over the budget before anything is allocated. */
export function checkBudget(bytes: number, what: string, opts: ReadOptions): void {
  const budget = opts.budgetBytes ?? DEFAULT_BUDGET;
  if (!Number.isFinite(bytes) || bytes > budget) {
    throw new AppError(
      'size-budget',
      `${what} declares ${formatBytes(bytes)}, more than this app will load (${formatBytes(budget)}). Crop or downsample it first.`,
      { subject: what, detail: `declared ${bytes} bytes, budget ${budget}` },
    );
  }
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return 'an impossible size';
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** Runs an allocation-heavy step and turns a RangeError into a typed out-of-memory error. */
export function guardAlloc<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RangeError) throw toAppError(e, 'out-of-memory', what);
    throw e;
  }
}
