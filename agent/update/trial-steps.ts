// Steps that hand work to the supervisor and wait for what it decides: the trial outcome of an
// install or a rollback, an app restart, a reboot (told by a new boot id), and the report.

import { CodedError, messageOf } from '../../common/errors.ts';
import type { JournalEntry } from '../jobs/journal.ts';
import type { StepEvent } from '../jobs/phases.ts';
import type { StepContext } from './context.ts';
import { activationOf, finish } from './install-steps.ts';
import { verdictFromEvent, verdictFromStatus, type StatusReport, type TrialVerdict } from './supervisor-port.ts';

/** Waits for the trial of this job: events first, the status as a fallback after restarts. */
export async function awaitTrial(entry: JournalEntry, ctx: StepContext, signal: AbortSignal): Promise<StepEvent> {
  const verdict = await new Promise<TrialVerdict>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (v: TrialVerdict): void => {
      if (v.kind === 'pending') return;
      off();
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    };
    const off = ctx.supervisor.onEvent((e) => done(verdictFromEvent(e, entry.jobId)));
    const onAbort = (): void => {
      off();
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const poll = (): void => {
      ctx.supervisor.status().then(
        (s) => done(verdictFromStatus(s, entry.jobId)),
        (err: unknown) => ctx.log.warn({ event: 'trial-status-failed', err: String(err) }, 'supervisor status failed; retrying'),
      ).finally(() => {
        if (!signal.aborted) timer = setTimeout(poll, ctx.jobsConfig.trialPollMs);
      });
    };
    poll();
  });
  const seconds = String(Math.round((ctx.clock.now() - entry.receivedAt) / 1000));
  publishOutcome(entry, verdict, ctx);
  if (verdict.kind === 'committed') {
    return finish('SUCCEEDED', 'COMMITTED', `version ${verdict.version} committed in slot ${verdict.slot}`, { version: verdict.version, durationSeconds: seconds });
  }
  if (verdict.kind === 'rolled-back') {
    return finish('FAILED', 'HEALTH_CHECK_FAILED', verdict.reason, { version: verdict.version, healthCode: verdict.code, durationSeconds: seconds });
  }
  return finish('FAILED', 'TRIAL_UNKNOWN', 'no trial outcome');
}

// Durable before the phase moves on: a crash in between sends it again with the same eventId.
function publishOutcome(entry: JournalEntry, verdict: TrialVerdict, ctx: StepContext): void {
  if (ctx.events === undefined || verdict.kind === 'pending') return;
  const operation = entry.document?.operation === 'rollback' ? 'rollback' : 'install';
  const base = { jobId: entry.jobId, executionNumber: entry.executionNumber, operation, version: verdict.version, at: ctx.clock.now() } as const;
  try {
    const id = verdict.kind === 'committed'
      ? ctx.events.trialOutcome({ ...base, outcome: 'committed' })
      : ctx.events.trialOutcome({ ...base, outcome: 'rolled-back', code: verdict.code, reason: verdict.reason });
    ctx.log.info({ event: 'trial-outcome-queued', jobId: entry.jobId, outcome: verdict.kind, messageId: id }, 'trial outcome queued in the outbox');
  } catch (err) {
    // A full outbox (refuse-new) must not change the job's outcome; the Jobs status still carries it.
    ctx.log.warn({ event: 'trial-outcome-not-queued', jobId: entry.jobId, err: messageOf(err) }, 'trial outcome event not queued');
  }
}

/** rollback operation: the supervisor starts a trial of the previous committed slot. */
export async function rollbackStep(entry: JournalEntry, ctx: StepContext): Promise<StepEvent> {
  const r = await ctx.supervisor.rollback(entry.jobId);
  ctx.log.info({ event: 'rollback-requested', jobId: entry.jobId, slot: r.slot, version: r.version }, 'rollback trial requested');
  return { type: 'rollback-requested' };
}

/** rollback operation, received: straight to its trial if the supervisor already has it (lost journal). */
export async function startRollback(entry: JournalEntry, ctx: StepContext): Promise<StepEvent> {
  const status = await ctx.supervisor.status();
  if (activationOf(entry, status)) return { type: 'activation-found' };
  return { type: 'start', operation: 'rollback' };
}

/** After a restart in `rolling-back`: ask for the rollback only if the supervisor has no trace of it. */
export async function reconcileRollback(entry: JournalEntry, ctx: StepContext): Promise<StepEvent> {
  const status = await ctx.supervisor.status();
  if (status.trial?.jobId === entry.jobId || status.lastOutcome?.jobId === entry.jobId) return { type: 'rollback-requested' };
  return rollbackStep(entry, ctx);
}

/** restart-app operation. */
export async function restartAppStep(ctx: StepContext): Promise<StepEvent> {
  const r = await ctx.supervisor.restartApp();
  return r.restarted ? finish('SUCCEEDED', 'APP_RESTARTED', 'application restarted') : finish('FAILED', 'APP_NOT_RUNNING', 'no application to restart');
}

/** reboot operation, first half: remember the boot we are in. */
export async function noteBootId(ctx: StepContext): Promise<StepEvent> {
  return { type: 'reboot-requested', bootId: await ctx.bootId() };
}

/**
 * reboot operation, second half: done once the boot id changed; else ask the supervisor (root:
 * the agent itself cannot reboot) and wait. A lost supervisor connection during the request is
 * the shutdown under way; a supervisor not reachable is asked again; a refusal fails the job.
 */
export async function awaitReboot(entry: JournalEntry, bootIdBefore: string, ctx: StepContext, signal: AbortSignal): Promise<StepEvent> {
  const rebooted = async (): Promise<StepEvent | null> => {
    const now = await ctx.bootId();
    return now === bootIdBefore ? null : finish('SUCCEEDED', 'REBOOTED', 'device rebooted', { bootId: now });
  };
  for (let asked = false; !asked; ) {
    const done = await rebooted();
    if (done !== null) return done;
    try {
      await ctx.supervisor.reboot(entry.jobId);
      asked = true;
    } catch (err) {
      if (!(err instanceof CodedError) || !RETRY_REBOOT.has(String(err.code))) throw err;
      ctx.log.warn({ event: 'reboot-request-unanswered', jobId: entry.jobId, code: err.code }, 'reboot request not answered; waiting for the boot id');
      asked = err.code === 'SUPERVISOR_DISCONNECTED';
      if (!asked) await ctx.clock.sleep(REBOOT_RETRY_MS, signal);
    }
  }
  // A real reboot ends this process; a boot id that changes while we live means the same.
  for (;;) {
    await ctx.clock.sleep(1_000, signal);
    const done = await rebooted();
    if (done !== null) return done;
  }
}

/** Codes after which a reboot request is not a refusal: the connection went, or nobody listened. */
const RETRY_REBOOT = new Set(['SUPERVISOR_DISCONNECTED', 'SUPERVISOR_UNAVAILABLE']);
const REBOOT_RETRY_MS = 5_000;

/** report operation: slots, versions and trial state into statusDetails. */
export async function reportStep(ctx: StepContext): Promise<StepEvent> {
  return finish('SUCCEEDED', 'REPORTED', 'device report', reportDetails(await ctx.supervisor.status(), ctx.deviceType));
}

function reportDetails(s: StatusReport, deviceType: string): Record<string, string> {
  const slot = (name: 'a' | 'b'): string => {
    const st = s.slots[name];
    return st.status === 'ready' || st.status === 'failed' ? `${st.status}:${st.version}` : st.status;
  };
  const details: Record<string, string> = {
    deviceType, bootId: s.bootId, current: s.current ?? 'none', committed: s.committed ?? 'none', previous: s.previous ?? 'none',
    slotA: slot('a'), slotB: slot('b'), trial: s.trial === null ? 'none' : `${s.trial.slot}:${s.trial.version}:${s.trial.phase}`,
  };
  if (s.app !== null) details['app'] = `${s.app.version ?? '?'} pid=${s.app.pid ?? '-'} restarts=${s.app.restarts}`;
  if (s.lastOutcome !== null) details['lastOutcome'] = `${s.lastOutcome.kind}:${s.lastOutcome.version}:${s.lastOutcome.jobId}`;
  return details;
}
