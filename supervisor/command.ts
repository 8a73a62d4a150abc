// Short commands the supervisor runs and waits for: a command probe, getent. Straight on
// node:child_process, as is the app runner (runner/launch.ts): execa's entry loads ~110 modules
// (its IPC, pipe and script methods among them) that stay resident for the supervisor's whole
// life: 6 MiB of a 60 MiB budget for an idle process (supervisor/README.md, "Idle memory").

import { spawn } from 'node:child_process';

export interface CommandOptions {
  cwd?: string;
  /**
   * Run as this uid and gid (needs root). Node's spawn drops every supplementary group when it
   * changes ids (libuv calls setgroups(0) first), so the command gets exactly this identity.
   */
  identity?: { uid: number; gid: number };
  /** Past this, the command's whole process group is killed (SIGKILL) and `timedOut` is set. */
  timeoutMs?: number;
  /** Aborting kills the command's process group; the result has `aborted` set. */
  signal?: AbortSignal;
  /** Collect standard output (up to `maxOutput` bytes) instead of discarding it. */
  captureStdout?: boolean;
  maxOutput?: number;
}

/** How a command ended: on its own, killed by us (timeout or abort), or never started. */
export type CommandEnd =
  | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'timed-out' | 'aborted'; signal: NodeJS.Signals | null }
  | { kind: 'not-started'; error: NodeJS.ErrnoException };

export interface CommandResult {
  end: CommandEnd;
  stdout: string;
  /** Up to the last 512 bytes of standard error, trimmed: for the reason of a failed probe. */
  stderrTail: string;
}

const STDERR_TAIL = 512;
const OUTPUT_GRACE_MS = 100;

/**
 * Runs `file args` in a process group of its own and resolves once it has exited and its
 * output is read; never rejects. A timeout or an abort kills the whole group, so a probe
 * script's own children (a hung `curl` under `sh`) go with it.
 */
export function runCommand(file: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  if (opts.signal?.aborted) return Promise.resolve({ end: { kind: 'aborted', signal: null }, stdout: '', stderrTail: '' });
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      detached: true,
      stdio: ['ignore', opts.captureStdout ? 'pipe' : 'ignore', 'pipe'],
      ...(opts.identity === undefined ? {} : { uid: opts.identity.uid, gid: opts.identity.gid }),
    });
    const maxOutput = opts.maxOutput ?? 64 * 1024;
    let stdout = Buffer.alloc(0);
    let stderr = Buffer.alloc(0);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (stdout.length < maxOutput) stdout = Buffer.concat([stdout, chunk]).subarray(0, maxOutput);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]).subarray(-STDERR_TAIL);
    });
    let killedFor: 'timed-out' | 'aborted' | undefined;
    const killGroup = (why: 'timed-out' | 'aborted'): void => {
      killedFor ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    };
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => killGroup('timed-out'), opts.timeoutMs);
    const onAbort = (): void => killGroup('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let end: CommandEnd | undefined;
    let grace: NodeJS.Timeout | undefined;
    const stopWatching = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    const finish = (): void => {
      if (end === undefined) return; // 'close' without 'exit' does not happen; 'error' sets end first
      clearTimeout(grace);
      resolve({ end, stdout: stdout.toString('utf8'), stderrTail: stderr.toString('utf8').trim() });
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (end !== undefined) return;
      stopWatching();
      end = { kind: 'not-started', error }; // not started: no 'close' follows
      finish();
    });
    child.once('exit', (code, signal) => {
      stopWatching();
      end = killedFor === undefined ? { kind: 'exited', code, signal } : { kind: killedFor, signal };
      // A process it left behind may hold a pipe open: what it wrote so far is enough.
      grace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, OUTPUT_GRACE_MS);
    });
    child.once('close', finish);
  });
}
