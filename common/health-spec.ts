// Strict parsing of a HealthSpec wherever the supervisor receives one: the config's `health`
// section (device defaults), a slot manifest's `health` override, an `activate` request's
// `health`, and the copy persisted with a trial. Unknown keys, wrong types and out-of-range
// values are refused with the caller's code and the field's path, so garbage never reaches the
// probes or the trial timers.

import type { HealthSpec, ProbeTiming } from '../bundle/manifest-types.ts';
import { Fields } from './fields.ts';

/** One year: the largest start timeout, probation or heartbeat period accepted. */
const MAX_SECONDS = 31_536_000;
/** An hour: the longest probe period or probe timeout accepted. */
const MAX_PROBE_MS = 3_600_000;
const TIMING = ['intervalMs', 'timeoutMs', 'failureThreshold'] as const;

/** `value` as a HealthSpec; throws `code` (e.g. CONFIG_INVALID) naming `path.field` otherwise. */
export function parseHealthSpec(value: unknown, path: string, code: string): HealthSpec {
  const f = new Fields(value, path, code, ['startTimeoutSeconds', 'probationSeconds', 'http', 'command', 'notify']);
  const spec: HealthSpec = {};
  // A start timeout of 0 would fail every start; a probation of 0 commits at the first healthy verdict.
  const start = f.optNum('startTimeoutSeconds', 0.001, MAX_SECONDS, false);
  if (start !== undefined) spec.startTimeoutSeconds = start;
  const probation = f.optNum('probationSeconds', 0, MAX_SECONDS, false);
  if (probation !== undefined) spec.probationSeconds = probation;
  if (f.has('http')) {
    const h: Fields = f.sub('http', ['url', ...TIMING]);
    const url = h.str('url', /^https?:\/\/\S+$/, 'an http:// or https:// URL');
    if (url === null) h.fail('url', 'is required');
    spec.http = { url, ...timing(h) };
  }
  if (f.has('command')) {
    const c: Fields = f.sub('command', ['argv', ...TIMING]);
    const argv = c.argv('argv', null);
    if (argv === null) c.fail('argv', 'is required');
    spec.command = { argv, ...timing(c) };
  }
  if (f.has('notify')) {
    const n = f.sub('notify', ['watchdogSec']);
    const sec = n.optNum('watchdogSec', 0.001, MAX_SECONDS, false);
    spec.notify = sec === undefined ? {} : { watchdogSec: sec };
  }
  return spec;
}

function timing(f: Fields): ProbeTiming {
  const t: ProbeTiming = {};
  const interval = f.optNum('intervalMs', 10, MAX_PROBE_MS); // under 10 ms a probe would spin
  if (interval !== undefined) t.intervalMs = interval;
  const timeout = f.optNum('timeoutMs', 1, MAX_PROBE_MS);
  if (timeout !== undefined) t.timeoutMs = timeout;
  const threshold = f.optNum('failureThreshold', 1, 1000);
  if (threshold !== undefined) t.failureThreshold = threshold;
  return t;
}
