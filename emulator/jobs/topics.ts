// Every Jobs topic and payload shape the device sees, in one pure module. Field order follows
// payloads AWS was captured sending (aws-iot-device-sdk-js-v2 jobs sample README), and every
// time sent to a device is in epoch seconds.

import type { Execution, Job, StatusDetails } from './model.ts';

const PREFIX = '$aws/things/';

export type DeviceRequest =
  | { kind: 'get'; thing: string; topic: string }
  | { kind: 'start-next'; thing: string; topic: string }
  | { kind: 'describe'; thing: string; jobId: string; topic: string }
  | { kind: 'update'; thing: string; jobId: string; topic: string }
  | { kind: 'invalid'; thing: string; topic: string }
  | { kind: 'ignore' };

const RESPONSE_SUFFIX = /\/(accepted|rejected)$/;

/** What a message published on `topic` asks of the Jobs service. */
export function parseTopic(topic: string): DeviceRequest {
  if (!topic.startsWith(PREFIX)) return { kind: 'ignore' };
  const parts = topic.slice(PREFIX.length).split('/');
  const [thing, jobs, ...rest] = parts;
  if (!thing || jobs !== 'jobs') return { kind: 'ignore' };
  // Our own responses and events come back to the responder's wildcard subscription.
  if (RESPONSE_SUFFIX.test(topic) || (rest.length === 1 && (rest[0] === 'notify' || rest[0] === 'notify-next'))) {
    return { kind: 'ignore' };
  }
  if (rest.length === 1 && rest[0] === 'get') return { kind: 'get', thing, topic };
  if (rest.length === 1 && rest[0] === 'start-next') return { kind: 'start-next', thing, topic };
  if (rest.length === 2 && rest[0] && rest[1] === 'get') return { kind: 'describe', thing, jobId: rest[0], topic };
  if (rest.length === 2 && rest[0] && rest[0] !== '$next' && rest[1] === 'update') {
    return { kind: 'update', thing, jobId: rest[0], topic };
  }
  return { kind: 'invalid', thing, topic };
}

/** Topic of the accepted reply to a request topic. */
export const acceptedTopic = (requestTopic: string): string => `${requestTopic}/accepted`;
/** Topic of the rejected reply to a request topic. */
export const rejectedTopic = (requestTopic: string): string => `${requestTopic}/rejected`;
/** JobExecutionsChanged topic of a thing. */
export const notifyTopic = (thing: string): string => `${PREFIX}${thing}/jobs/notify`;
/** NextJobExecutionChanged topic of a thing. */
export const notifyNextTopic = (thing: string): string => `${PREFIX}${thing}/jobs/notify-next`;

/** Epoch seconds, as every Jobs timestamp is sent. */
export const seconds = (ms: number): number => Math.floor(ms / 1000);

/** JobExecutionSummary as in GetPendingJobExecutions and notify. */
export function summaryPayload(e: Execution): Record<string, unknown> {
  const out: Record<string, unknown> = { jobId: e.jobId, queuedAt: seconds(e.queuedAt), lastUpdatedAt: seconds(e.lastUpdatedAt) };
  if (e.startedAt !== undefined) out['startedAt'] = seconds(e.startedAt);
  out['executionNumber'] = e.executionNumber;
  out['versionNumber'] = e.versionNumber;
  return out;
}

/** Seconds until the earliest running timer fires, when one runs. */
export function secondsBeforeTimedOut(e: Execution, now: number): number | undefined {
  const deadlines = [e.stepDeadline, e.inProgressDeadline].filter((d): d is number => d !== undefined);
  if (deadlines.length === 0) return undefined;
  return Math.max(0, Math.ceil((Math.min(...deadlines) - now) / 1000));
}

/** JobExecution as in start-next, describe and notify-next; the document only when asked. */
export function executionPayload(e: Execution, now: number, document?: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { jobId: e.jobId, status: e.status };
  if (e.statusDetails) out['statusDetails'] = e.statusDetails;
  out['queuedAt'] = seconds(e.queuedAt);
  if (e.startedAt !== undefined) out['startedAt'] = seconds(e.startedAt);
  out['lastUpdatedAt'] = seconds(e.lastUpdatedAt);
  const left = secondsBeforeTimedOut(e, now);
  if (left !== undefined) out['approximateSecondsBeforeTimedOut'] = left;
  out['versionNumber'] = e.versionNumber;
  out['executionNumber'] = e.executionNumber;
  if (document !== undefined) out['jobDocument'] = document;
  return out;
}

/** JobExecutionState as in update replies and rejections. */
export function executionStatePayload(e: Execution): Record<string, unknown> {
  const out: Record<string, unknown> = { status: e.status };
  if (e.statusDetails) out['statusDetails'] = e.statusDetails;
  out['versionNumber'] = e.versionNumber;
  return out;
}

/** Reply header: clientToken first (when the request had one), then the timestamp. */
export function replyBase(clientToken: string | undefined, now: number): Record<string, unknown> {
  return clientToken === undefined ? { timestamp: seconds(now) } : { clientToken, timestamp: seconds(now) };
}

export type ErrorCode =
  | 'InvalidTopic' | 'InvalidJson' | 'InvalidRequest' | 'InvalidStateTransition' | 'ResourceNotFound'
  | 'VersionMismatch' | 'InternalError' | 'RequestThrottled' | 'TerminalStateReached';

/** ErrorResponse: code, message, clientToken, timestamp and, for two codes, executionState. */
export function errorPayload(code: ErrorCode, message: string, clientToken: string | undefined, now: number, state?: Execution): Record<string, unknown> {
  const out: Record<string, unknown> = { code, message };
  if (clientToken !== undefined) out['clientToken'] = clientToken;
  out['timestamp'] = seconds(now);
  if (state && (code === 'VersionMismatch' || code === 'InvalidStateTransition')) out['executionState'] = executionStatePayload(state);
  return out;
}

/** JobExecutionsChanged: keys only for non-empty lists, `{}` when nothing is pending. */
export function notifyPayload(pending: Execution[], now: number, limit = 15): Record<string, unknown> {
  const shown = pending.slice(0, limit);
  const jobs: Record<string, unknown> = {};
  const inProgress = shown.filter((e) => e.status === 'IN_PROGRESS').map(summaryPayload);
  const queued = shown.filter((e) => e.status === 'QUEUED').map(summaryPayload);
  if (inProgress.length > 0) jobs['IN_PROGRESS'] = inProgress;
  if (queued.length > 0) jobs['QUEUED'] = queued;
  return { timestamp: seconds(now), jobs };
}

/** NextJobExecutionChanged: without `execution` when nothing is pending. */
export function notifyNextPayload(head: Execution | undefined, document: unknown, now: number): Record<string, unknown> {
  return head ? { timestamp: seconds(now), execution: executionPayload(head, now, document) } : { timestamp: seconds(now) };
}

/** A thing's statusDetails as AWS's control plane shows them. */
export function detailsMap(details: StatusDetails | undefined): { detailsMap: StatusDetails } | undefined {
  return details ? { detailsMap: details } : undefined;
}

/** The ARN of a job. */
export const jobArn = (job: Pick<Job, 'jobId'>, region: string, account: string): string => `arn:aws:iot:${region}:${account}:job/${job.jobId}`;
/** The ARN of a thing. */
export const thingArn = (thing: string, region: string, account: string): string => `arn:aws:iot:${region}:${account}:thing/${thing}`;
