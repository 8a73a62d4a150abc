// How the supervisor ends when it cannot go on: a start-up step that fails after the watchdog
// was armed, an uncaught exception, an unhandled rejection, or a clean stop that fails. A
// supervisor that pets with no IPC and no app would keep the device up forever without ever
// recovering; so it stops petting, lets the hardware take over, releases what it made and exits.
//
// INVARIANTS
// - fail() first ends the pet loop and closes the watchdog WITHOUT the magic close, before
//   anything else: if releasing hangs, the device still resets after its timeout (a supervisor
//   restarted by systemd opens it again in time).
// - Then what was held is released in reverse order (metrics, IPC socket, app and timers),
//   bounded by releaseTimeoutMs in all.
// - fail() runs once; a fatal error while failing is only logged.
// - The process exits non-zero: the caller returns its error, and an unref'd timer forces the
//   exit in case a handle nobody tracks still holds the event loop.

import { messageOf } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';

/** The process events the supervisor watches (process itself, or a test's emitter). */
export interface FatalSource {
  on(event: 'uncaughtException' | 'unhandledRejection', listener: (err: unknown) => void): unknown;
  off(event: 'uncaughtException' | 'unhandledRejection', listener: (err: unknown) => void): unknown;
}

export interface LifecycleDeps {
  watchdog: { stopArmed(): void };
  logger: Logger;
  /** Upper bound for releasing everything held (the app's stop timeout plus a margin). */
  releaseTimeoutMs: number;
  /** Ends the process (process.exit); called only if the event loop did not drain by itself. */
  exit: (code: number) => void;
  /** How long after failing the process may take to exit by itself before `exit` is called. */
  exitGraceMs: number;
}

const EXIT_CODE = 1;

/** The supervisor's failure path: what it holds, and how it lets go of it. */
export class Lifecycle {
  readonly #d: LifecycleDeps;
  readonly #held: Array<{ name: string; release: () => Promise<void> | void }> = [];
  #failing: Promise<void> | null = null;
  readonly #fatalListeners = new Set<(err: unknown) => void>();

  constructor(deps: LifecycleDeps) {
    this.#d = deps;
  }

  /** Registers something made during start-up, released by fail() (last held, first released). */
  hold(name: string, release: () => Promise<void> | void): void {
    this.#held.push({ name, release });
  }

  /** Calls `listener` once fail() has finished for a fatal process event. */
  onFatal(listener: (err: unknown) => void): void {
    this.#fatalListeners.add(listener);
  }

  /** Routes uncaught exceptions and unhandled rejections of `source` to fail(); returns the undo. */
  watch(source: FatalSource): () => void {
    const onError = (err: unknown): void => {
      this.fail(err, 'fatal').then(
        () => this.#fatalListeners.forEach((l) => l(err)),
        () => undefined, // fail() never rejects
      );
    };
    source.on('uncaughtException', onError);
    source.on('unhandledRejection', onError);
    return () => {
      source.off('uncaughtException', onError);
      source.off('unhandledRejection', onError);
    };
  }

  /** Stops petting (device left armed), releases everything held, arms the forced exit. */
  fail(err: unknown, phase: 'start' | 'fatal' | 'stop'): Promise<void> {
    const { logger } = this.#d;
    if (this.#failing) {
      logger.error({ event: 'supervisor-fatal-while-failing', phase, err: messageOf(err) }, 'another error while failing');
      return this.#failing;
    }
    this.#d.watchdog.stopArmed();
    logger.fatal({ event: 'supervisor-failed', phase, err: messageOf(err), stack: err instanceof Error ? err.stack : undefined }, 'supervisor failed; exiting');
    this.#failing = this.#releaseAll().then(() => {
      logger.flush();
      setTimeout(() => this.#d.exit(EXIT_CODE), this.#d.exitGraceMs).unref();
    });
    return this.#failing;
  }

  async #releaseAll(): Promise<void> {
    const { logger, releaseTimeoutMs } = this.#d;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), releaseTimeoutMs);
    });
    const released = (async (): Promise<'done'> => {
      for (const { name, release } of this.#held.splice(0).reverse()) {
        try {
          await release();
        } catch (e) {
          logger.error({ event: 'supervisor-release-failed', part: name, err: messageOf(e) }, 'cannot release on failure');
        }
      }
      return 'done';
    })();
    const outcome = await Promise.race([released, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') logger.error({ event: 'supervisor-release-timeout', timeoutMs: releaseTimeoutMs }, 'releasing took too long; exiting anyway');
  }
}
