// One-shot probes: an HTTP GET and a command. Each resolves to an outcome and never throws.

import { messageOf } from '../../common/errors.ts';
import { runCommand } from '../command.ts';
import type { ProbeIdentity } from '../ports.ts';

export type ProbeOutcome = { ok: true } | { ok: false; reason: string };

// node:http and node:https come through getBuiltinModule, on the first probe that needs them:
// an ESM `import` of node:http evaluates every export, and its WebSocket getters load undici,
// http2, tls and zlib (~4.5 MiB resident in the supervisor, which never uses them).
function requestFor(url: string): typeof import('node:http').request {
  return url.startsWith('https:') ? process.getBuiltinModule('node:https').request : process.getBuiltinModule('node:http').request;
}

/** Healthy when GET `url` answers 2xx within `timeoutMs`; a timeout is a failure. */
export function probeHttp(url: string, timeoutMs: number, signal: AbortSignal): Promise<ProbeOutcome> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  const both = AbortSignal.any([signal, timeout.signal]);
  return new Promise<ProbeOutcome>((resolve) => {
    const request = requestFor(url);
    // agent: false: a fresh connection per probe, so a probe never rides on a connection kept
    // alive to a previous instance of the app.
    const req = request(url, { method: 'GET', agent: false, signal: both }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 300 ? { ok: true } : { ok: false, reason: `HTTP ${status} from ${url}` });
    });
    req.on('error', (err) => {
      resolve({ ok: false, reason: timeout.signal.aborted ? `no answer from ${url} within ${timeoutMs} ms` : `${url}: ${messageOf(err)}` });
    });
    req.end();
  }).finally(() => clearTimeout(timer));
}

/**
 * Healthy when `argv` exits 0 within `timeoutMs`; otherwise its process group is killed and it
 * counts as failed. With `identity` it runs as that uid and gid with no supplementary groups (the
 * app's: a probe never runs as root unless the app does).
 */
export async function probeCommand(argv: string[], cwd: string | undefined, timeoutMs: number, signal: AbortSignal, identity?: ProbeIdentity): Promise<ProbeOutcome> {
  const [file, ...args] = argv;
  if (file === undefined) return { ok: false, reason: 'empty probe command' };
  const { end, stderrTail } = await runCommand(file, args, { ...(cwd === undefined ? {} : { cwd }), ...(identity === undefined ? {} : { identity }), timeoutMs, signal });
  switch (end.kind) {
    case 'not-started':
      return { ok: false, reason: `${file}: ${end.error.message}` };
    case 'timed-out':
      return { ok: false, reason: `${file} did not finish within ${timeoutMs} ms` };
    case 'aborted':
      return { ok: false, reason: `${file}: stopped` };
    case 'exited': {
      if (end.code === 0) return { ok: true };
      const how = end.code === null ? `killed by ${end.signal}` : `exit code ${end.code}`;
      return { ok: false, reason: stderrTail === '' ? `${file}: ${how}` : `${file}: ${how}: ${lastLine(stderrTail)}` };
    }
  }
}

// The last line a failed probe wrote to stderr usually says why ("curl: (7) Failed to connect").
function lastLine(text: string): string {
  return text.slice(text.lastIndexOf('\n') + 1).slice(0, 200);
}
