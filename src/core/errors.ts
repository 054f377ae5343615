/**
 * The project's one error type. Every failure that reaches a user is an AppError: a stable code for
 * programs and tests, a message that says what is wrong and what to do, and the original cause for the log.
 */
export type ErrorCode =
  | 'invalid-argument'
  | 'unsupported-format'
  | 'corrupt-file'
  | 'truncated-file'
  | 'size-budget'
  | 'grid-mismatch'
  | 'model-contract'
  | 'model-missing'
  | 'model-integrity'
  | 'tensor-mismatch'
  /** A prompt kind this model's graph cannot take (e.g. a box on a graph without a box input). */
  | 'unsupported-prompt'
  | 'out-of-memory'
  | 'gpu-lost'
  | 'network'
  | 'quota'
  | 'cancelled'
  | 'stale'
  | 'worker-terminated'
  /** A worker that could not start (its script failed to load) or crashed: its pending calls are rejected. */
  | 'worker-failed'
  | 'internal';

export interface AppErrorInit {
  /** For the log: what went wrong underneath (technical detail, file offsets, ORT messages). */
  readonly detail?: string;
  readonly cause?: unknown;
  /** Names the offending thing (an input tensor, a file, a header field) so a test or user can act on it. */
  readonly subject?: string;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly subject: string | undefined;

  constructor(code: ErrorCode, message: string, init: AppErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.detail = init.detail;
    this.subject = init.subject;
  }

  /** A plain object that survives structured clone (worker messages) and JSON. */
  toJSON(): SerializedAppError {
    return {
      name: 'AppError',
      code: this.code,
      message: this.message,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(this.subject === undefined ? {} : { subject: this.subject }),
    };
  }

  static fromJSON(s: SerializedAppError): AppError {
    return new AppError(s.code, s.message, {
      ...(s.detail === undefined ? {} : { detail: s.detail }),
      ...(s.subject === undefined ? {} : { subject: s.subject }),
    });
  }
}

export interface SerializedAppError {
  readonly name: 'AppError';
  readonly code: ErrorCode;
  readonly message: string;
  readonly detail?: string;
  readonly subject?: string;
}

export function isSerializedAppError(v: unknown): v is SerializedAppError {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { name?: unknown }).name === 'AppError' &&
    typeof (v as { code?: unknown }).code === 'string' &&
    typeof (v as { message?: unknown }).message === 'string'
  );
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  if (typeof e === 'string') return e;
  try {
    // JSON.stringify returns undefined for functions and symbols, whatever its type says.
    const json = JSON.stringify(e) as unknown;
    return typeof json === 'string' ? json : String(e);
  } catch {
    return String(e);
  }
}

/**
 * Normalises anything thrown (strings, numbers, foreign Errors, RangeErrors from allocation) into an AppError.
 * Third-party parsers throw strings; allocation failures throw RangeError; neither may reach the UI raw.
 */
export function toAppError(e: unknown, fallback: ErrorCode = 'internal', context?: string): AppError {
  if (e instanceof AppError) return e;
  if (isSerializedAppError(e)) return AppError.fromJSON(e);
  const detail = describe(e);
  if (e instanceof RangeError && /allocat|array buffer|invalid array length|out of memory/i.test(e.message)) {
    return new AppError(
      'out-of-memory',
      `${context ? `${context}: ` : ''}not enough memory for this data. Close other studies or use a smaller model/volume.`,
      { detail, cause: e },
    );
  }
  if (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError') {
    return new AppError('cancelled', `${context ? `${context}: ` : ''}cancelled.`, { detail, cause: e });
  }
  const prefix = context ? `${context}: ` : '';
  return new AppError(fallback, `${prefix}${detail}`, { detail, cause: e });
}
