// The app's stdout and stderr, forwarded to the log without letting the app grow, flood or busy
// the supervisor (DESIGN "Trust boundary" 4). Per app instance, both streams together:
//
// - Held: at most MAX_LINE_BYTES of an unfinished line per stream; a longer line goes out in
//   pieces of that size marked `truncated: true` (journald's default LineMax is 48K, so a piece
//   stays one journal entry).
// - Forwarded: a token bucket of LOG_TOKENS_PER_S tokens a second, LOG_BURST_TOKENS at once; a
//   piece costs one token per started KiB. That is 100 short lines a second (100 KiB/s at most),
//   well inside journald's per-unit default of 10000 messages per 30 s — which the supervisor's
//   own lines share, so an app must not use it up — and ~1 ms of CPU a second (a forwarded line
//   costs ~11 µs with the supervisor's V8 flags). A burst of 1000 lets a stack trace or a start-up
//   banner through whole. What is over is dropped and counted; an `app-output-dropped` line with
//   the counts follows DROP_REPORT_MS after the first drop, and at the streams' end.
// - Read: a work budget of READ_UNITS_PER_S a second, a unit being a byte read plus 64 per line
//   counted in dropped output; past it, reading pauses and the pipe fills until the app's writes
//   wait. Measured with the supervisor's V8 flags, a 64 KiB read costs ~200 µs of CPU and counting
//   a dropped line ~34 ns: 8 MiB/s keeps a flood (200 MiB without a newline, two-byte lines flat
//   out) near 3% of a core, and an app writing less than ~4 MiB/s of ordinary lines never waits.
// - Garbage: every read is a new 64 KiB buffer that only a collection frees, and V8 lets ~64 MiB
//   of them pile up (its external-memory limit) before it collects on its own, since reading a
//   flood allocates little else. A minor collection (a young generation of 1 MiB with the
//   supervisor's flags: well under a millisecond) every GC_EVERY_BYTES read keeps the pile small.
//   It needs --expose-gc (SUPERVISOR_V8_FLAGS); without it, V8's own limit applies.

import type { Readable } from 'node:stream';
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/log.ts';
import { OutputLines } from './output-lines.ts';
import { TokenBucket } from './token-bucket.ts';

export const MAX_LINE_BYTES = 16 * 1024;
const LOG_TOKENS_PER_S = 100;
const LOG_BURST_TOKENS = 1000;
const TOKEN_BYTES = 1024;
const DROP_REPORT_MS = 5000;
const READ_UNITS_PER_S = 8 * 1024 * 1024;
const READ_BURST_UNITS = 16 * 1024 * 1024;
const UNITS_PER_COUNTED_LINE = 64;
const GC_EVERY_BYTES = 4 * 1024 * 1024;
const gc = (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc;

export interface OutputStreams {
  stdout: Readable | null;
  stderr: Readable | null;
}

/**
 * The log rate of one app, shared by all its instances: a flooding app that crashes and is
 * restarted does not get a fresh burst with each instance.
 */
export function appLogBudget(clock: Clock): TokenBucket {
  return new TokenBucket(LOG_TOKENS_PER_S, LOG_BURST_TOKENS, () => clock.monotonic());
}

/** Forwards both streams as `app-output` lines labelled with `labels` (see the header), within the app's `log` budget. */
export function forwardOutput(streams: OutputStreams, logger: Logger, labels: Record<string, unknown>, clock: Clock, log: TokenBucket = appLogBudget(clock)): void {
  const now = (): number => clock.monotonic();
  const read = new TokenBucket(READ_UNITS_PER_S, READ_BURST_UNITS, now);
  const done = new AbortController(); // both streams closed: no timer of theirs may hold the process
  const drops = new DropCounter(logger, labels, now);
  let unswept = 0;
  const later = (ms: number, fn: () => void): void => {
    clock.sleep(ms, done.signal).then(fn, () => undefined);
  };
  let open = 0;
  for (const [name, stream] of [['stdout', streams.stdout], ['stderr', streams.stderr]] as const) {
    if (stream === null) continue;
    open += 1;
    const lines = new OutputLines(MAX_LINE_BYTES);
    let counted = 0;
    const sink = {
      admit: (bytes: number) => log.take(Math.max(1, Math.ceil(bytes / TOKEN_BYTES))),
      piece: (line: string, truncated: boolean) => logger.info({ ...labels, stream: name, line, ...(truncated ? { truncated } : {}) }),
      dropped: (n: number, bytes: number) => {
        counted += n;
        if (drops.add(n, bytes)) later(DROP_REPORT_MS, () => drops.report());
      },
    };
    stream.on('data', (chunk: Buffer) => {
      counted = 0;
      lines.push(chunk, sink);
      unswept += chunk.length;
      if (unswept >= GC_EVERY_BYTES && gc !== undefined) {
        unswept = 0;
        gc({ type: 'minor' });
      }
      const waitMs = read.spend(chunk.length + UNITS_PER_COUNTED_LINE * counted);
      if (waitMs === 0) return;
      stream.pause();
      later(waitMs, () => stream.resume());
    });
    stream.once('end', () => lines.end(sink));
    stream.once('close', () => {
      open -= 1;
      if (open > 0) return;
      drops.report();
      done.abort();
    });
  }
}

// Dropped lines and bytes since the last `app-output-dropped` line.
class DropCounter {
  readonly #logger: Logger;
  readonly #labels: Record<string, unknown>;
  readonly #now: () => number;
  #lines = 0;
  #bytes = 0;
  #since = 0;
  #pending = false;

  constructor(logger: Logger, labels: Record<string, unknown>, now: () => number) {
    this.#logger = logger;
    this.#labels = labels;
    this.#now = now;
  }

  /** Counts a drop; true when it is the first since the last report (the caller schedules one). */
  add(lines: number, bytes: number): boolean {
    this.#lines += lines;
    this.#bytes += bytes;
    if (this.#pending) return false;
    this.#pending = true;
    this.#since = this.#now();
    return true;
  }

  report(): void {
    if (!this.#pending) return;
    const periodMs = Math.round(this.#now() - this.#since);
    this.#logger.warn({ ...this.#labels, event: 'app-output-dropped', lines: this.#lines, bytes: this.#bytes, periodMs }, 'app output over the rate limit was dropped');
    this.#lines = 0;
    this.#bytes = 0;
    this.#pending = false;
  }
}
