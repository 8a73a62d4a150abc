// The executor of the job machine for one execution: persist the phase, send the IN_PROGRESS
// update that fits it, run its action, feed the outcome back into transition(), repeat until
// the execution is closed or the agent stops.
//
// INVARIANTS
// - The journal is saved before each action runs (see phases.ts).
// - A stop (SIGTERM) leaves the phase as it is: the next start resumes it. A cancel changes the
//   phase only while cancellable(); from activation on, the supervisor's verdict is awaited.
// - Step errors with a code become a FAILED report; nothing is retried blindly after a crash
//   more than MAX_RESUMES times in one phase.

import { rm } from 'node:fs/promises';
import { CodedError, messageOf } from '../../common/errors.ts';
import { downloadPath, type StepContext } from '../update/context.ts';
import { activateStep, downloadStep, finish, installStep, precheck, reconcileActivation } from '../update/install-steps.ts';
import { awaitReboot, awaitTrial, noteBootId, reconcileRollback, reportStep, restartAppStep, rollbackStep, startRollback } from '../update/trial-steps.ts';
import type { Journal, JournalEntry } from './journal.ts';
import { actionFor, guarded, MAX_RESUMES, stepFor, transition, type Action, type Phase, type StepEvent } from './phases.ts';
import { sendUpdate, type ReporterDeps, type UpdateOutcome } from './reporter.ts';

export interface RunnerDeps {
  journal: Journal;
  ctx: Omit<StepContext, 'progress'>;
  reporter: ReporterDeps;
  /** An update was answered with "this execution is over" (canceled, removed, timed out). */
  onGone?: (entry: JournalEntry) => void;
  /** Called after every durable save of an entry (crash-injection point for tests). */
  onSaved?: (entry: JournalEntry) => void;
  /** Progress of the running step (unthrottled; for the status file). */
  onProgress?: (entry: JournalEntry, details: Record<string, string>) => void;
}

/** Why a running action was interrupted. */
export class Interrupt extends Error {
  readonly kind: 'canceled' | 'stopping';
  constructor(kind: 'canceled' | 'stopping') {
    super(kind);
    this.kind = kind;
  }
}

/** Runs `entry` until it is closed, or until `signal` aborts (stop or cancel). */
export async function runExecution(deps: RunnerDeps, start: JournalEntry, resumed: boolean, signal: AbortSignal): Promise<JournalEntry> {
  let entry = resumed ? countResume(deps, start) : start;
  let fresh = !resumed;
  for (;;) {
    const action = actionFor(entry.phase, !fresh);
    if (action === 'none') return entry;
    const event = await runAction(deps, entry, action, signal);
    if (event === null || entry.phase.kind === 'closed') return entry;
    entry = advance(deps, entry, event);
    fresh = true;
  }
}

function countResume(deps: RunnerDeps, entry: JournalEntry): JournalEntry {
  const resumes = entry.resumes + 1;
  if (guarded(entry.phase) && resumes > MAX_RESUMES) {
    const looped = finish('FAILED', 'RESTART_LOOP', `restarted ${resumes} times in phase ${entry.phase.kind}`);
    return advance(deps, entry, looped);
  }
  const next = { ...entry, resumes };
  deps.journal.save(next);
  return next;
}

function advance(deps: RunnerDeps, entry: JournalEntry, event: StepEvent): JournalEntry {
  const phase = transition(entry.phase, event);
  if (phase === entry.phase) return entry;
  const now = deps.ctx.clock.now();
  const next: JournalEntry = { ...entry, phase, resumes: 0, updatedAt: now, phaseSince: now };
  deps.journal.save(next);
  deps.onSaved?.(next);
  deps.ctx.log.info({ event: 'job-phase', jobId: entry.jobId, executionNumber: entry.executionNumber, from: entry.phase.kind, to: phase.kind }, 'job phase');
  return next;
}

// Runs one action; null when the agent is stopping (phase kept for the next start).
async function runAction(deps: RunnerDeps, entry: JournalEntry, action: Action, signal: AbortSignal): Promise<StepEvent | null> {
  const progress = progressSender(deps, entry, signal);
  try {
    await progress.phaseEntered();
    return await perform({ ...deps.ctx, progress: progress.send }, deps, entry, action, signal);
  } catch (err) {
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (reason instanceof Interrupt) return reason.kind === 'canceled' ? { type: 'canceled' } : null;
    if (err instanceof CodedError) return finish('FAILED', String(err.code), err.message, versionOf(entry));
    deps.ctx.log.error({ event: 'job-step-error', jobId: entry.jobId, action, err: messageOf(err) }, 'job step failed');
    return finish('FAILED', 'AGENT_ERROR', messageOf(err), versionOf(entry));
  }
}

async function perform(ctx: StepContext, deps: RunnerDeps, entry: JournalEntry, action: Action, signal: AbortSignal): Promise<StepEvent> {
  const phase: Phase = entry.phase;
  switch (action) {
    case 'precheck':
      if (entry.document?.operation === 'install') return precheck(entry, ctx);
      if (entry.document?.operation === 'report') return reportStep(ctx);
      if (entry.document?.operation === 'rollback') return startRollback(entry, ctx);
      return { type: 'start', operation: entry.document?.operation ?? 'report' };
    case 'download':
      return downloadStep(entry, ctx, signal);
    case 'install':
      return installStep(entry, ctx, signal);
    case 'activate':
    case 'reconcile-activation':
      if (phase.kind !== 'activating') throw new CodedError('JOB_STATE_INVALID', `${action} outside activating`);
      return action === 'activate' ? activateStep(entry, ctx, phase.slot) : reconcileActivation(entry, ctx, phase.slot);
    case 'await-trial':
      return awaitTrial(entry, ctx, signal);
    case 'rollback':
      return rollbackStep(entry, ctx);
    case 'reconcile-rollback':
      return reconcileRollback(entry, ctx);
    case 'restart-app':
      return restartAppStep(ctx);
    case 'note-boot-id':
      return noteBootId(ctx);
    case 'await-reboot':
      if (phase.kind !== 'rebooting') throw new CodedError('JOB_STATE_INVALID', 'await-reboot outside rebooting');
      return awaitReboot(entry, phase.bootId, ctx, signal);
    case 'send-report':
      return sendFinal(deps, entry, signal);
    case 'cleanup':
    case 'none':
      await cleanup(ctx, entry);
      return { type: 'report-accepted' };
  }
}

async function sendFinal(deps: RunnerDeps, entry: JournalEntry, signal: AbortSignal): Promise<StepEvent> {
  if (entry.phase.kind !== 'reporting') throw new CodedError('JOB_STATE_INVALID', 'no final report');
  const { final } = entry.phase;
  await cleanup(deps.ctx, entry);
  const details = { ...final.details, reason: final.reason, message: final.message };
  const outcome: UpdateOutcome = await sendUpdate(deps.reporter, { jobId: entry.jobId, executionNumber: entry.executionNumber, status: final.status, statusDetails: details }, Infinity, signal);
  deps.ctx.log.info({ event: 'job-final', jobId: entry.jobId, status: final.status, reason: final.reason, outcome }, 'final status reported');
  return outcome === 'accepted' ? { type: 'report-accepted' } : { type: 'gone' };
}

async function cleanup(ctx: Omit<StepContext, 'progress'>, entry: JournalEntry): Promise<void> {
  const file = downloadPath(ctx.paths, entry);
  await rm(file, { force: true });
  await rm(`${file}.meta.json`, { force: true });
}

function versionOf(entry: JournalEntry): Record<string, string> {
  return entry.document?.operation === 'install' ? { version: entry.document.version } : {};
}

// IN_PROGRESS updates: one on entering a phase (with its step timeout), then throttled progress.
function progressSender(deps: RunnerDeps, entry: JournalEntry, signal: AbortSignal): { phaseEntered: () => Promise<void>; send: (d: Record<string, string>) => void } {
  const step = stepFor(entry.phase, deps.ctx.jobsConfig.stepTimeouts);
  let last = 0;
  let inFlight = false;
  const base = { phase: step?.name ?? '', ...versionOf(entry) };
  const update = async (details: Record<string, string>): Promise<void> => {
    if (step === null) return;
    const req = { jobId: entry.jobId, executionNumber: entry.executionNumber, status: 'IN_PROGRESS' as const, statusDetails: { ...base, ...details }, stepTimeoutInMinutes: step.minutes };
    const outcome = await sendUpdate(deps.reporter, req, 3, signal);
    if (outcome === 'gone') {
      deps.ctx.log.warn({ event: 'job-gone', jobId: entry.jobId, phase: entry.phase.kind }, 'execution is over in the cloud');
      deps.onGone?.(entry);
    }
  };
  return {
    phaseEntered: () => update({ progress: '0' }).catch(() => undefined),
    send: (details) => {
      deps.onProgress?.(entry, details);
      const now = deps.ctx.clock.monotonic();
      if (inFlight || now - last < deps.ctx.jobsConfig.progressIntervalMs) return;
      last = now;
      inFlight = true;
      update(details).catch(() => undefined).finally(() => { inFlight = false; });
    },
  };
}
