// Short commands the supervisor runs and waits for: a command probe, getent. Straight on
// node:child_process, as is the app runner (runner/launch.ts): execa's entry loads ~110 modules
// (its IPC, pipe and script methods among them) that stay resident for the supervisor's whole
// life: 6 MiB of a 60 MiB budget for an idle process (supervisor/README.md, "Idle memory").

import { spawn } from 'node:child_process';

export interface CommandOptions {
  cwd?: string;
  /** Past this, the command's whole process group is killed (SIGKILL) and `timedOut` is set. */
  timeoutMs?: number;
  /** Aborting kills the command's process group; the result has `aborted` set. */
  signal?: AbortSignal;
  /** Collect standard output (up to `maxOutput` bytes) instead of discarding it. */
  captureStdout?: boolean;
  maxOutput?: number;
}

export interface CommandResult {
  /** null when the command was ended by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  stdout: string;
  /** Up to the last 512 bytes of standard error, trimmed: for the reason of a failed probe. */
  stderrTail: string;
  /** Why the command could not be started (ENOENT, EACCES, ...). */
  spawnError: NodeJS.ErrnoException | null;
}

const STDERR_TAIL = 512;
const OUTPUT_GRACE_MS = 100;

/**
 * Runs `file args` in a process group of its own and resolves once it has exited and its
 * output is read; never rejects. A timeout or an abort kills the whole group, so a probe
 * script's own children (a hung `curl` under `sh`) go with it.
 */
export function runCommand(file: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const result: CommandResult = { exitCode: null, signal: null, timedOut: false, aborted: false, stdout: '', stderrTail: '', spawnError: null };
  if (opts.signal?.aborted) return Promise.resolve({ ...result, aborted: true });
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
      detached: true,
      stdio: ['ignore', opts.captureStdout ? 'pipe' : 'ignore', 'pipe'],
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
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    };
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      result.timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    const onAbort = (): void => {
      result.aborted = true;
      killGroup();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let finished = false;
    let grace: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(grace);
      opts.signal?.removeEventListener('abort', onAbort);
      result.stdout = stdout.toString('utf8');
      result.stderrTail = stderr.toString('utf8').trim();
      resolve(result);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      result.spawnError = err; // not started: no 'close' follows
      finish();
    });
    child.once('exit', (code, signal) => {
      result.exitCode = code;
      result.signal = signal;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      // A process it left behind may hold a pipe open: what it wrote so far is enough.
      grace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, OUTPUT_GRACE_MS);
    });
    child.once('close', finish);
  });
}
