// Errors that cross a process or network boundary travel as { code, message } and are rebuilt as AppError,
// so the user sees the real message instead of a generic "Error invoking remote method".
export const errorCodes = [
  'invalid-payload',
  'unknown-channel',
  'not-found',
  'conflict',
  'unsupported',
  'unavailable',
  'cancelled',
  'failed',
  'internal',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
  }
  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message };
  }
}

export type Envelope<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

/** Turns anything thrown into the { code, message } shape; unexpected errors keep their message. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof AppError) return error.toInfo();
  if (error instanceof Error) return { code: 'internal', message: error.message };
  return { code: 'internal', message: String(error) };
}

export function unwrapEnvelope<T>(envelope: Envelope<T>): T {
  if (envelope.ok) return envelope.value;
  throw new AppError(envelope.error.code, envelope.error.message);
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (errorCodes as readonly string[]).includes(value);
}

/**
 * The first non-blank line of an error's message (or of what was thrown), trimmed: reasons shown to the user and stored
 * on a run are one line, never a stack trace.
 */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message
    : typeof (error as { message?: unknown })?.message === 'string' ? (error as { message: string }).message
      : String(error);
  return message.split(/\r?\n/).map((line) => line.trim()).find((line) => line !== '') ?? 'unknown error';
}
