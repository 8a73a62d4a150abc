// Small pieces the `twinslot bundle` subcommands share: argument errors, paths, output.

import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { CliIo } from '../../cli/command.ts';
import { isBundleError } from '../errors.ts';

/** A mistake in the command line: reported with exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Exit codes of every `twinslot bundle` subcommand. */
export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

/** `value` or a UsageError naming the missing option. */
export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new UsageError(`${what} is required`);
  return value;
}

/** A path given on the command line, made absolute against the user's working directory. */
export function cliPath(io: CliIo, path: string): string {
  return resolve(io.cwd, path);
}

/** A bundle file as a stream (64 KiB reads: larger ones only hold more garbage between collections). */
export function openBundle(path: string): Readable {
  return createReadStream(path);
}

/** Writes one JSON line. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Reports a refusal or usage error as one line (`CODE: reason`, or JSON with --json) and
 * returns the exit code; rethrows anything else.
 */
export function reportFailure(io: CliIo, err: unknown, json: boolean): number {
  if (err instanceof UsageError || (err as NodeJS.ErrnoException | undefined)?.code?.startsWith('ERR_PARSE_ARGS')) {
    io.stderr.write(`twinslot bundle: ${(err as Error).message} (see --help)\n`);
    return EXIT.usage;
  }
  if (!isBundleError(err)) throw err;
  if (json) printJson(io, { ok: false, code: err.code, message: err.message });
  else io.stderr.write(`${err.code}: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
  return EXIT.refused;
}
