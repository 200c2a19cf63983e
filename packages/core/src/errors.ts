// Errors, kept in three kinds (STYLE.md habit 4):
// - `assert` for our own bugs: it throws and stays on in production;
// - `Result` with a `code` for expected failures inside logic (a peer's bytes that do not decode);
// - `TrolleyError` at the boundaries, with a `code` that maps to CLI exit codes and wire errors.

/** Every code an expected failure can carry. Append only: codes travel on the wire. */
export type ErrorCode =
  | 'invalid_argument' // a caller passed a value outside its domain (bad quantity, empty name)
  | 'limit_exceeded' // a value or a collection went past a limit in limits.ts
  | 'decode_truncated' // bytes ended before the structure did
  | 'decode_version' // an encoding version this build does not know
  | 'decode_malformed' // bytes that cannot be a valid encoding (bad tag, bad UTF-8, broken invariant)
  | 'decode_wrong_plane' // a well-framed message of a protocol plane the receiver does not serve
  | 'not_found'; // an item or list that is not there

export class TrolleyError extends Error {
  override readonly name = 'TrolleyError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export type Result<T, E = TrolleyError> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

/** Fails loudly on a broken invariant of our own code. Never use it on bytes from a peer. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
