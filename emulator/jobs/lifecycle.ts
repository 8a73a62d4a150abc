// What the service does on its own: roll out executions at the configured rate, time out
// executions whose step or in-progress timer ran out, retry failed and timed-out executions as
// new executions, abort a job past its failure threshold, and mark finished jobs COMPLETED
// [S6 "How job configurations work"].

import { isTerminal, type Execution, type Job, type JobsState } from './model.ts';
import { latestExecutionsOf } from './queries.ts';

const MINUTE = 60_000;

/** A new QUEUED execution (versionNumber 1, as AWS queues it). */
export function queuedExecution(state: JobsState, jobId: string, thing: string, now: number, executionNumber = 1, retryAttempt = 0): { state: JobsState; execution: Execution } {
  const execution: Execution = {
    jobId, thingName: thing, executionNumber, status: 'QUEUED', queuedAt: now, lastUpdatedAt: now,
    versionNumber: 1, seq: state.nextSeq, retryAttempt,
  };
  return { state: { ...state, executions: [...state.executions, execution], nextSeq: state.nextSeq + 1 }, execution };
}

/** How many targets the rollout allows by `now` (maximumPerMinute per started minute). */
export function rolloutAllowance(job: Job, now: number): number {
  const rate = job.jobExecutionsRolloutConfig?.maximumPerMinute;
  if (!rate) return Number.POSITIVE_INFINITY;
  return rate * (Math.floor(Math.max(0, now - job.createdAt) / MINUTE) + 1);
}

function rollOut(state: JobsState, now: number): JobsState {
  let next = state;
  for (const job of Object.values(state.jobs)) {
    if (job.status !== 'IN_PROGRESS' || job.released.length >= job.targets.length) continue;
    const room = rolloutAllowance(job, now) - job.released.length;
    const batch = job.targets.filter((t) => !job.released.includes(t)).slice(0, Math.max(0, room));
    if (batch.length === 0) continue;
    for (const thing of batch) next = queuedExecution(next, job.jobId, thing, now).state;
    next = { ...next, jobs: { ...next.jobs, [job.jobId]: { ...job, released: [...job.released, ...batch], lastUpdatedAt: now } } };
  }
  return next;
}

function timeOut(state: JobsState, now: number): JobsState {
  let changed = false;
  const executions = state.executions.map((e) => {
    if (e.status !== 'IN_PROGRESS') return e;
    const due = [e.stepDeadline, e.inProgressDeadline].some((d) => d !== undefined && d <= now);
    if (!due) return e;
    changed = true;
    const { stepDeadline: _s, inProgressDeadline: _i, ...rest } = e;
    return { ...rest, status: 'TIMED_OUT' as const, lastUpdatedAt: now, versionNumber: e.versionNumber + 1 };
  });
  return changed ? { ...state, executions } : state;
}

function retriesAllowed(job: Job, type: 'FAILED' | 'TIMED_OUT'): { allowed: number; counts: 'ALL' | 'FAILED' | 'TIMED_OUT' } {
  const criteria = job.jobExecutionsRetryConfig?.criteriaList ?? [];
  const specific = criteria.find((c) => c.failureType === type);
  if (specific) return { allowed: specific.numberOfRetries, counts: type };
  const all = criteria.find((c) => c.failureType === 'ALL');
  return { allowed: all?.numberOfRetries ?? 0, counts: 'ALL' };
}

function retry(state: JobsState, now: number): JobsState {
  let next = state;
  for (const job of Object.values(state.jobs)) {
    if (job.status !== 'IN_PROGRESS' || !job.jobExecutionsRetryConfig) continue;
    for (const latest of latestExecutionsOf(state, job.jobId)) {
      if (latest.status !== 'FAILED' && latest.status !== 'TIMED_OUT') continue;
      const { allowed, counts } = retriesAllowed(job, latest.status);
      const history = state.executions.filter((e) => e.jobId === job.jobId && e.thingName === latest.thingName);
      const failures = history.filter((e) => (counts === 'ALL' ? e.status === 'FAILED' || e.status === 'TIMED_OUT' : e.status === counts)).length;
      if (failures > allowed) continue;
      next = queuedExecution(next, job.jobId, latest.thingName, now, latest.executionNumber + 1, latest.retryAttempt + 1).state;
    }
  }
  return next;
}

function failureMatches(status: Execution['status'], type: 'FAILED' | 'REJECTED' | 'TIMED_OUT' | 'ALL'): boolean {
  return type === 'ALL' ? status === 'FAILED' || status === 'REJECTED' || status === 'TIMED_OUT' : status === type;
}

function abort(state: JobsState, now: number): JobsState {
  let next = state;
  for (const job of Object.values(state.jobs)) {
    if (job.status !== 'IN_PROGRESS' || !job.abortConfig) continue;
    const executed = latestExecutionsOf(state, job.jobId).filter((e) => isTerminal(e.status));
    const hit = job.abortConfig.criteriaList.some((c) => {
      if (executed.length === 0 || executed.length < c.minNumberOfExecutedThings) return false;
      const failed = executed.filter((e) => failureMatches(e.status, c.failureType)).length;
      return (failed * 100) / executed.length >= c.thresholdPercentage;
    });
    if (hit) next = cancelJobState(next, job.jobId, now, false, { comment: 'Job aborted by abort config', reasonCode: 'ABORTED' });
  }
  return next;
}

/** CancelJob: the job becomes CANCELED; QUEUED executions (and IN_PROGRESS with force) too. */
export function cancelJobState(state: JobsState, jobId: string, now: number, force: boolean, note: { comment?: string; reasonCode?: string }): JobsState {
  const job = state.jobs[jobId];
  if (!job) return state;
  const executions = state.executions.map((e) => {
    if (e.jobId !== jobId || !(e.status === 'QUEUED' || (force && e.status === 'IN_PROGRESS'))) return e;
    return cancelExecutionRecord(e, now, force && e.status === 'IN_PROGRESS');
  });
  const canceled: Job = { ...job, ...note, status: 'CANCELED', lastUpdatedAt: now, forceCanceled: force };
  return { ...state, executions, jobs: { ...state.jobs, [jobId]: canceled } };
}

/** One execution moved to CANCELED (its timers end). */
export function cancelExecutionRecord(e: Execution, now: number, forced: boolean): Execution {
  const { stepDeadline: _s, inProgressDeadline: _i, ...rest } = e;
  const out: Execution = { ...rest, status: 'CANCELED', lastUpdatedAt: now, versionNumber: e.versionNumber + 1 };
  if (forced) out.forceCanceled = true;
  return out;
}

function complete(state: JobsState, now: number): JobsState {
  let jobs = state.jobs;
  for (const job of Object.values(state.jobs)) {
    if (job.status !== 'IN_PROGRESS' || job.released.length < job.targets.length) continue;
    if (!latestExecutionsOf(state, job.jobId).every((e) => isTerminal(e.status))) continue;
    jobs = { ...jobs, [job.jobId]: { ...job, status: 'COMPLETED', completedAt: now, lastUpdatedAt: now } };
  }
  return jobs === state.jobs ? state : { ...state, jobs };
}

/** Applies retries, abort criteria and completion after any change. */
export function settle(state: JobsState, now: number): JobsState {
  return complete(abort(retry(state, now), now), now);
}

/** The service's own progress at `now`: rollout, timeouts, then settle. */
export function tick(state: JobsState, now: number): JobsState {
  return settle(timeOut(rollOut(state, now), now), now);
}

/** When `tick` next has something to do (ms since the epoch), if ever. */
export function nextWake(state: JobsState, now: number): number | undefined {
  const times: number[] = [];
  for (const e of state.executions) {
    if (e.status !== 'IN_PROGRESS') continue;
    if (e.stepDeadline !== undefined) times.push(e.stepDeadline);
    if (e.inProgressDeadline !== undefined) times.push(e.inProgressDeadline);
  }
  for (const job of Object.values(state.jobs)) {
    if (job.status !== 'IN_PROGRESS' || job.released.length >= job.targets.length) continue;
    const elapsed = Math.floor(Math.max(0, now - job.createdAt) / MINUTE);
    times.push(job.createdAt + (elapsed + 1) * MINUTE);
  }
  return times.length > 0 ? Math.min(...times) : undefined;
}
