// The control plane as pure functions, named and validated like AWS IoT's CreateJob,
// CancelJob, CancelJobExecution, DeleteJob and AssociateTargetsWithJob. Errors carry the AWS
// exception names, which the `twinslot job` CLI prints as the AWS CLI does.

import { CodedError } from '../../common/errors.ts';
import type { EngineContext, Job, JobConfig, JobsState, Outcome, StatusDetails } from './model.ts';
import { isTerminal } from './model.ts';
import { changedThings, eventsFor } from './events.ts';
import { cancelExecutionRecord, cancelJobState, settle, tick } from './lifecycle.ts';
import { findExecution, replaceExecution } from './queries.ts';
import { jobArn } from './topics.ts';
import { checkJobConfig, thingNameOf } from './control-validate.ts';

export interface CreateJobInput extends JobConfig {
  jobId: string;
  targets: string[];
  document: string;
  description?: string;
}

/** Raises an AWS-named control-plane error. */
export function awsError(code: string, message: string): CodedError {
  return new CodedError(code, message);
}

function finish<T>(before: JobsState, after: JobsState, ctx: EngineContext, result: T): Outcome<T> {
  return { state: after, messages: eventsFor(before, after, changedThings(before, after), ctx), result };
}

function jobOf(state: JobsState, jobId: string): Job {
  const job = state.jobs[jobId];
  if (!job) throw awsError('ResourceNotFoundException', `Job ${jobId} cannot be found.`);
  return job;
}

/** CreateJob: queues an execution on each target, as fast as the rollout allows. */
export function createJob(state: JobsState, input: CreateJobInput, ctx: EngineContext): Outcome<{ jobArn: string; jobId: string; description?: string }> {
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(input.jobId)) throw awsError('InvalidRequestException', `jobId must match [a-zA-Z0-9_-]{1,64}`);
  if (state.jobs[input.jobId]) throw awsError('ResourceAlreadyExistsException', `Job ${input.jobId} already exists.`);
  const targets = [...new Set(input.targets.map(thingNameOf))];
  if (targets.length === 0) throw awsError('InvalidRequestException', 'targets must name at least one thing');
  if (Buffer.byteLength(input.document) > 32_768) {
    throw awsError('InvalidRequestException', `The job document exceeds the maximum size of 32768 bytes (${Buffer.byteLength(input.document)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(input.document);
  } catch {
    throw awsError('InvalidRequestException', 'The job document is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw awsError('InvalidRequestException', 'The job document must be a JSON object');
  checkJobConfig(input);
  const job: Job = { ...input, targets, released: [], status: 'IN_PROGRESS', createdAt: ctx.now, lastUpdatedAt: ctx.now };
  const after = tick({ ...state, jobs: { ...state.jobs, [job.jobId]: job } }, ctx.now);
  const result: { jobArn: string; jobId: string; description?: string } = { jobArn: jobArn(job, ctx.settings.region, ctx.settings.accountId), jobId: job.jobId };
  if (job.description !== undefined) result.description = job.description;
  return finish(state, after, ctx, result);
}

/** CancelJob: QUEUED executions are canceled; IN_PROGRESS ones only with force. */
export function cancelJob(state: JobsState, input: { jobId: string; force?: boolean; comment?: string; reasonCode?: string }, ctx: EngineContext): Outcome<{ jobArn: string; jobId: string; description?: string }> {
  const job = jobOf(state, input.jobId);
  if (job.status === 'COMPLETED') throw awsError('InvalidStateTransitionException', `Job ${job.jobId} is already COMPLETED.`);
  if (job.status === 'CANCELED' && !input.force) throw awsError('InvalidStateTransitionException', `Job ${job.jobId} is already CANCELED.`);
  const note: { comment?: string; reasonCode?: string } = {};
  if (input.comment !== undefined) note.comment = input.comment;
  if (input.reasonCode !== undefined) note.reasonCode = input.reasonCode;
  const after = settle(cancelJobState(state, job.jobId, ctx.now, input.force ?? false, note), ctx.now);
  const result: { jobArn: string; jobId: string; description?: string } = { jobArn: jobArn(job, ctx.settings.region, ctx.settings.accountId), jobId: job.jobId };
  if (job.description !== undefined) result.description = job.description;
  return finish(state, after, ctx, result);
}

export interface CancelExecutionInput { jobId: string; thingName: string; force?: boolean; expectedVersion?: number; statusDetails?: StatusDetails }

/** CancelJobExecution: QUEUED → CANCELED; IN_PROGRESS only with force; terminal never. */
export function cancelJobExecution(state: JobsState, input: CancelExecutionInput, ctx: EngineContext): Outcome<undefined> {
  jobOf(state, input.jobId);
  const thing = thingNameOf(input.thingName);
  const e = findExecution(state, thing, input.jobId);
  if (!e) throw awsError('ResourceNotFoundException', `Job execution of ${input.jobId} on ${thing} cannot be found.`);
  if (input.expectedVersion !== undefined && input.expectedVersion !== e.versionNumber) {
    throw awsError('VersionConflictException', `Expected version ${input.expectedVersion} does not match ${e.versionNumber}.`);
  }
  if (isTerminal(e.status)) throw awsError('InvalidStateTransitionException', `Job execution is already ${e.status}.`);
  if (e.status === 'IN_PROGRESS' && !input.force) {
    throw awsError('InvalidStateTransitionException', 'The job execution is IN_PROGRESS; use --force to cancel it.');
  }
  const canceled = cancelExecutionRecord(e, ctx.now, e.status === 'IN_PROGRESS');
  if (input.statusDetails) canceled.statusDetails = input.statusDetails;
  return finish(state, settle(replaceExecution(state, canceled), ctx.now), ctx, undefined);
}

/** DeleteJob: a job still IN_PROGRESS needs force; its executions vanish (ResourceNotFound). */
export function deleteJob(state: JobsState, input: { jobId: string; force?: boolean }, ctx: EngineContext): Outcome<undefined> {
  const job = jobOf(state, input.jobId);
  const running = state.executions.some((e) => e.jobId === job.jobId && e.status === 'IN_PROGRESS');
  if (job.status === 'IN_PROGRESS' && running && !input.force) {
    throw awsError('InvalidStateTransitionException', `Job ${job.jobId} has executions IN_PROGRESS; use --force to delete it.`);
  }
  const jobs = { ...state.jobs };
  delete jobs[job.jobId];
  const after: JobsState = { ...state, jobs, executions: state.executions.filter((e) => e.jobId !== job.jobId) };
  return finish(state, after, ctx, undefined);
}

/** AssociateTargetsWithJob: more things for a job that is still in progress. */
export function associateTargets(state: JobsState, input: { jobId: string; targets: string[] }, ctx: EngineContext): Outcome<{ jobArn: string; jobId: string }> {
  const job = jobOf(state, input.jobId);
  if (job.status !== 'IN_PROGRESS') throw awsError('InvalidStateTransitionException', `Job ${job.jobId} is ${job.status}.`);
  const targets = [...new Set([...job.targets, ...input.targets.map(thingNameOf)])];
  const after = tick({ ...state, jobs: { ...state.jobs, [job.jobId]: { ...job, targets, lastUpdatedAt: ctx.now } } }, ctx.now);
  return finish(state, after, ctx, { jobArn: jobArn(job, ctx.settings.region, ctx.settings.accountId), jobId: job.jobId });
}

/** Things leave a job's targets (as when removed from a target group): pending executions → REMOVED. */
export function removeTargets(state: JobsState, input: { jobId: string; targets: string[] }, ctx: EngineContext): Outcome<undefined> {
  const job = jobOf(state, input.jobId);
  const leaving = new Set(input.targets.map(thingNameOf));
  const executions = state.executions.map((e) => {
    if (e.jobId !== job.jobId || !leaving.has(e.thingName) || isTerminal(e.status)) return e;
    const { stepDeadline: _s, inProgressDeadline: _i, ...rest } = e;
    return { ...rest, status: 'REMOVED' as const, lastUpdatedAt: ctx.now, versionNumber: e.versionNumber + 1 };
  });
  const updated: Job = { ...job, targets: job.targets.filter((t) => !leaving.has(t)), released: job.released.filter((t) => !leaving.has(t)), lastUpdatedAt: ctx.now };
  const after = settle({ ...state, executions, jobs: { ...state.jobs, [job.jobId]: updated } }, ctx.now);
  return finish(state, after, ctx, undefined);
}

/** The service's own progress (rollout, timeouts, retries) with the events it causes. */
export function advance(state: JobsState, ctx: EngineContext): Outcome<undefined> {
  return finish(state, tick(state, ctx.now), ctx, undefined);
}
