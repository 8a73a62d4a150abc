// The stable codes a bundle is refused with. Each goes unchanged into the CLI's one-line
// reason and into a job's statusDetails.reason; bundle/README.md lists them with meanings.

import { CodedError } from '../common/errors.ts';

export const BUNDLE_ERROR_CODES = [
  'BUNDLE_TAR_INVALID',
  'BUNDLE_TRUNCATED',
  'BUNDLE_TOO_LARGE',
  'BUNDLE_MANIFEST_MISSING',
  'BUNDLE_MANIFEST_TOO_LARGE',
  'BUNDLE_MANIFEST_INVALID',
  'BUNDLE_SIGNATURE_MISSING',
  'BUNDLE_SIGNATURE_INVALID',
  'BUNDLE_UNTRUSTED_KEY',
  'BUNDLE_INCOMPATIBLE',
  'BUNDLE_NAME_NOT_UTF8',
  'BUNDLE_PATH_ABSOLUTE',
  'BUNDLE_PATH_TRAVERSAL',
  'BUNDLE_SYMLINK_ESCAPE',
  'BUNDLE_HARDLINK',
  'BUNDLE_DEVICE_NODE',
  'BUNDLE_FIFO',
  'BUNDLE_ENTRY_TYPE_UNSUPPORTED',
  'BUNDLE_DUPLICATE_ENTRY',
  'BUNDLE_ENTRY_NOT_IN_MANIFEST',
  'BUNDLE_ENTRY_MISMATCH',
  'BUNDLE_MODE_UNSAFE',
  'BUNDLE_SIZE_MISMATCH',
  'BUNDLE_CHECKSUM_MISMATCH',
  'BUNDLE_FILE_MISSING',
  'BUNDLE_TARGET_NOT_EMPTY',
  'BUNDLE_ABORTED',
  'BUNDLE_IO_ERROR',
  'BUNDLE_TRUST_INVALID',
  'BUNDLE_KEY_INVALID',
  'BUNDLE_SOURCE_CHANGED',
] as const;

export type BundleErrorCode = (typeof BUNDLE_ERROR_CODES)[number];

/** A refused bundle (or a failed bundle operation), with a stable code. */
export class BundleError extends CodedError<BundleErrorCode> {
  constructor(code: BundleErrorCode, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(code, message, details, options);
    this.name = 'BundleError';
  }
}

/** True when `err` is a BundleError (optionally with the given code). */
export function isBundleError(err: unknown, code?: BundleErrorCode): err is BundleError {
  return err instanceof BundleError && (code === undefined || err.code === code);
}

/** `err` as a BundleError: coded errors pass through, anything else is an I/O failure. */
export function asBundleError(err: unknown): BundleError {
  if (err instanceof BundleError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BundleError('BUNDLE_IO_ERROR', message, {}, { cause: err });
}
