// `twinslot demo`: the update story end to end on one machine. A device at v1.0.0 takes two jobs
// from the emulator — v1.1.0, which is committed after probation, and v1.2.0, whose health
// check fails during probation so the supervisor rolls back — while a prober measures what a
// user of the app would have seen.

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SupervisorEvent } from '../ipc/protocol.ts';
import { tailOf, type LogLine } from './children.ts';
import { showSupervisorEvent, showSupervisorLog } from './narrate.ts';
import { THING } from './device.ts';
import { installDocument, type ReleaseSpec } from './releases.ts';
import { startStack, type Stack } from './stack.ts';
import { verdictOf, type DemoResult, type JobRow } from './summary.ts';
import type { Timeline } from './timeline.ts';
import { followJob } from './watch.ts';

const RELEASES: ReleaseSpec[] = [
  { version: '1.0.0', flaw: '', env: {} },
  { version: '1.1.0', flaw: '', env: {} },
  { version: '1.2.0', flaw: 'its health check fails 1.5 s after start', env: { FAIL_AFTER_MS: '1500' } },
];
const JOBS = [
  { job: 'job-1', version: '1.1.0', expected: 'SUCCEEDED' },
  { job: 'job-2', version: '1.2.0', expected: 'FAILED' },
] as const;
const FINAL_VERSION = '1.1.0';
const JOB_DEADLINE_MS = 120_000;

export interface DemoOptions {
  parentDir: string;
  keep: boolean;
  timeline: Timeline;
  signal: AbortSignal;
}

/** Runs the demo; always stops what it started. Rejects only on abort or a failure to start. */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  let currentJob = 'setup';
  const onEvent = (e: SupervisorEvent): void => showSupervisorEvent(opts.timeline, e);
  const stack = await startStack({ parentDir: opts.parentDir, timeline: opts.timeline, signal: opts.signal, releases: RELEASES, onSupervisorEvent: onEvent });
  stack.supervisor.onLog((l) => showSupervisorLog(opts.timeline, currentJob, l));
  const rows: JobRow[] = [];
  let reason: string;
  try {
    for (const spec of JOBS) {
      currentJob = spec.job;
      rows.push(await runJob(stack, opts, spec));
    }
    reason = verdictOf(rows, FINAL_VERSION);
  } catch (err) {
    if (opts.signal.aborted) throw err;
    reason = `${(err as Error).message}\n${tailOf(stack.agent)}\n${tailOf(stack.supervisor)}`;
  } finally {
    opts.timeline.flush();
    await stack.stop(opts.keep);
  }
  return { ok: reason === '', reason, root: stack.root, kept: opts.keep, durationMs: Date.now() - started, jobs: rows };
}

async function runJob(stack: Stack, opts: DemoOptions, spec: (typeof JOBS)[number]): Promise<JobRow> {
  const release = stack.releases.find((r) => r.version === spec.version);
  if (!release) throw new Error(`no release ${spec.version}`);
  const t0 = Date.now();
  stack.emulator.createJob({
    jobId: spec.job, targets: [`arn:aws:iot:us-east-1:123456789012:thing/${THING}`], document: JSON.stringify(installDocument(release)),
    presignedUrlConfig: { roleArn: 'arn:aws:iam::123456789012:role/twinslot-demo-presign', expiresInSec: 600 },
    timeoutConfig: { inProgressTimeoutInMinutes: 10 },
  });
  opts.timeline.emit({ kind: 'job', jobId: spec.job, text: `created: install v${spec.version} (${release.size} bytes, sha256 ${release.sha256.slice(0, 12)}…)` });
  const final = await followJob({
    control: stack.emulator, timeline: opts.timeline, thingName: THING, jobId: spec.job, size: release.size,
    downloadsDir: join(stack.device.paths.agentDir, 'downloads'), signal: opts.signal, deadlineMs: JOB_DEADLINE_MS,
  });
  const verdictAt = final.status === 'FAILED' ? trialVerdictAfter(stack.supervisor.logs, t0) : undefined;
  // The version the user should see now took over at or after the start (job 1) or the verdict (job 2).
  const answeredAt = final.status === spec.expected ? await waitVersion(stack, FINAL_VERSION, verdictAt ?? t0, opts.signal) : undefined;
  const t1 = Math.max(Date.now(), answeredAt ?? 0);
  const outages = stack.prober.outagesBetween(t0, t1);
  const row: JobRow = {
    job: spec.job, version: spec.version, expected: spec.expected, outcome: final.status,
    reason: final.details['reason'] ?? '', message: final.details['message'] ?? '',
    durationMs: t1 - t0, downtimeMs: outages.reduce((sum, o) => sum + o.ms, 0), outages: outages.length,
    rollbackMs: verdictAt !== undefined && answeredAt !== undefined ? answeredAt - verdictAt : null,
    answering: stack.prober.lastVersion() ?? null,
  };
  const ok = row.outcome === spec.expected;
  const text = row.outcome === 'SUCCEEDED'
    ? `${row.outcome} (${row.reason}): v${row.answering ?? '?'} answering`
    : `${row.outcome} (${row.reason}: ${row.message}); v${row.answering ?? '?'} answering again`;
  opts.timeline.emit({ kind: 'outcome', jobId: spec.job, ok, text: ok && row.outcome !== 'SUCCEEDED' ? `${text} — as expected` : text });
  return row;
}

/** The time of the supervisor's failed health verdict on the trial app after `since`. */
function trialVerdictAfter(logs: LogLine[], since: number): number | undefined {
  const line = logs.find((l) => l['event'] === 'app-unhealthy' && l['trial'] === true && Date.parse(String(l['time'])) >= since);
  return line ? Date.parse(String(line['time'])) : undefined;
}

/** When answers changed to `version` at or after `from` (waits up to 15 s); undefined if they did not. */
async function waitVersion(stack: Stack, version: string, from: number, signal: AbortSignal): Promise<number | undefined> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const at = stack.prober.versionSeenAfter(version, from);
    if (at !== undefined) return at;
    await sleep(20, undefined, { signal });
  }
  return undefined;
}
