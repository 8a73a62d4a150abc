// Errors with stable string codes: the code goes unchanged into logs, CLI exit messages and a
// job's statusDetails.reason, so it is part of twinslot's public contract.

/** An error whose `code` is a stable, documented identifier. */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: C, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CodedError';
    this.code = code;
    this.details = details;
  }
}

/** True when `err` is a Node.js system error with the given errno code (ENOENT, EEXIST, ...). */
export function isErrno(err: unknown, code: string): err is NodeJS.ErrnoException {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/** The message of anything thrown, for logs. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
