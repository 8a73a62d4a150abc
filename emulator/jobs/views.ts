// Control-plane read operations with the AWS CLI's output field names (DescribeJob,
// ListJobs, ListJobExecutionsForJob, DescribeJobExecution). Times are ISO 8601, as AWS CLI v2
// prints them by default.

import type { EngineSettings, Execution, ExecutionStatus, Job, JobsState } from './model.ts';
import { findExecution, latestExecutionsOf } from './queries.ts';
import { detailsMap, jobArn, secondsBeforeTimedOut, thingArn } from './topics.ts';
import { awsError } from './control.ts';
import { thingNameOf } from './control-validate.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

function compact(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

function jobOf(state: JobsState, jobId: string): Job {
  const job = state.jobs[jobId];
  if (!job) throw awsError('ResourceNotFoundException', `Job ${jobId} cannot be found.`);
  return job;
}

function processDetails(state: JobsState, job: Job): Record<string, number> {
  const count = (s: ExecutionStatus): number => latestExecutionsOf(state, job.jobId).filter((e) => e.status === s).length;
  return {
    numberOfCanceledThings: count('CANCELED'), numberOfSucceededThings: count('SUCCEEDED'),
    numberOfFailedThings: count('FAILED'), numberOfRejectedThings: count('REJECTED'),
    numberOfQueuedThings: count('QUEUED'), numberOfInProgressThings: count('IN_PROGRESS'),
    numberOfRemovedThings: count('REMOVED'), numberOfTimedOutThings: count('TIMED_OUT'),
  };
}

/** DescribeJob. */
export function describeJob(state: JobsState, jobId: string, s: EngineSettings): { job: Record<string, unknown> } {
  const job = jobOf(state, jobId);
  return {
    job: compact({
      jobArn: jobArn(job, s.region, s.accountId), jobId: job.jobId, targetSelection: 'SNAPSHOT', status: job.status,
      forceCanceled: job.forceCanceled, reasonCode: job.reasonCode, comment: job.comment,
      targets: job.targets.map((t) => thingArn(t, s.region, s.accountId)), description: job.description,
      presignedUrlConfig: job.presignedUrlConfig, jobExecutionsRolloutConfig: job.jobExecutionsRolloutConfig,
      abortConfig: job.abortConfig, createdAt: iso(job.createdAt), lastUpdatedAt: iso(job.lastUpdatedAt),
      completedAt: job.completedAt === undefined ? undefined : iso(job.completedAt),
      jobProcessDetails: processDetails(state, job), timeoutConfig: job.timeoutConfig ?? {},
      jobExecutionsRetryConfig: job.jobExecutionsRetryConfig, isConcurrent: false,
    }),
  };
}

/** GetJobDocument. */
export function getJobDocument(state: JobsState, jobId: string): { document: string } {
  return { document: jobOf(state, jobId).document };
}

/** ListJobs. */
export function listJobs(state: JobsState, s: EngineSettings, status?: string): { jobs: Record<string, unknown>[] } {
  const jobs = Object.values(state.jobs)
    .filter((j) => status === undefined || j.status === status)
    .sort((a, b) => b.createdAt - a.createdAt)
    .map((j) => compact({
      jobArn: jobArn(j, s.region, s.accountId), jobId: j.jobId, targetSelection: 'SNAPSHOT', status: j.status,
      createdAt: iso(j.createdAt), lastUpdatedAt: iso(j.lastUpdatedAt), completedAt: j.completedAt === undefined ? undefined : iso(j.completedAt),
      isConcurrent: false,
    }));
  return { jobs };
}

function executionSummary(e: Execution): Record<string, unknown> {
  return compact({
    status: e.status, queuedAt: iso(e.queuedAt), startedAt: e.startedAt === undefined ? undefined : iso(e.startedAt),
    lastUpdatedAt: iso(e.lastUpdatedAt), executionNumber: e.executionNumber, retryAttempt: e.retryAttempt,
  });
}

/** ListJobExecutionsForJob (latest execution per thing). */
export function listJobExecutions(state: JobsState, jobId: string, s: EngineSettings, status?: string): { executionSummaries: Record<string, unknown>[] } {
  jobOf(state, jobId);
  const executionSummaries = latestExecutionsOf(state, jobId)
    .filter((e) => status === undefined || e.status === status)
    .sort((a, b) => a.seq - b.seq)
    .map((e) => ({ thingArn: thingArn(e.thingName, s.region, s.accountId), jobExecutionSummary: executionSummary(e) }));
  return { executionSummaries };
}

/** DescribeJobExecution (control plane). */
export function describeJobExecution(state: JobsState, input: { jobId: string; thingName: string; executionNumber?: number }, s: EngineSettings, now: number): { execution: Record<string, unknown> } {
  jobOf(state, input.jobId);
  const thing = thingNameOf(input.thingName);
  const e = findExecution(state, thing, input.jobId, input.executionNumber);
  if (!e) throw awsError('ResourceNotFoundException', `Job execution of ${input.jobId} on ${thing} cannot be found.`);
  return {
    execution: compact({
      jobId: e.jobId, status: e.status, forceCanceled: e.forceCanceled ?? false, statusDetails: detailsMap(e.statusDetails) ?? { detailsMap: {} },
      thingArn: thingArn(thing, s.region, s.accountId), queuedAt: iso(e.queuedAt),
      startedAt: e.startedAt === undefined ? undefined : iso(e.startedAt), lastUpdatedAt: iso(e.lastUpdatedAt),
      executionNumber: e.executionNumber, versionNumber: e.versionNumber,
      approximateSecondsBeforeTimedOut: e.status === 'IN_PROGRESS' ? secondsBeforeTimedOut(e, now) : undefined,
    }),
  };
}
