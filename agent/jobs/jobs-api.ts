// The Jobs data plane as the engine sees it: a port with typed values, so the engine does not
// depend on the SDK's loosely typed model. sdk-jobs.ts implements it with IotJobsClientv2.

import { CodedError } from '../../common/errors.ts';

export type RemoteStatus = 'QUEUED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'REJECTED' | 'REMOVED' | 'CANCELED';

export interface RemoteExecution {
  jobId: string;
  executionNumber: number;
  status: RemoteStatus;
  versionNumber: number;
  /** As delivered (an object over MQTT); undefined when not asked for. */
  document: unknown;
  statusDetails: Record<string, string>;
}

export interface UpdateRequest {
  jobId: string;
  executionNumber: number;
  status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'REJECTED';
  statusDetails: Record<string, string>;
  stepTimeoutInMinutes?: number;
}

export interface JobsApi {
  /** start-next: the next pending execution, now IN_PROGRESS; null when none. */
  startNext(stepTimeoutInMinutes: number): Promise<RemoteExecution | null>;
  /** describe: one execution (or `$next`); null when ResourceNotFound. */
  describe(jobId: string, executionNumber?: number): Promise<RemoteExecution | null>;
  update(request: UpdateRequest): Promise<void>;
  /** notify-next: the head changed (null: nothing pending). */
  onNextChanged(listener: (next: RemoteExecution | null) => void): () => void;
  /** notify: the set of pending job ids changed. */
  onPendingChanged(listener: (pendingJobIds: ReadonlySet<string>) => void): () => void;
  /** Streams are (re)established on a fresh session: time to ask start-next again. */
  onResync(listener: () => void): () => void;
}

/** A request AWS answered on /rejected; `code` is its error code (RequestThrottled, ...). */
export class JobsRejected extends CodedError<'JOBS_REJECTED'> {
  readonly rejection: string;
  constructor(rejection: string, message: string) {
    super('JOBS_REJECTED', `${rejection}: ${message}`);
    this.rejection = rejection;
  }
}

/** The request did not get an answer (offline, timeout): worth retrying later. */
export class JobsUnavailable extends CodedError<'JOBS_UNAVAILABLE'> {
  constructor(message: string, options?: ErrorOptions) {
    super('JOBS_UNAVAILABLE', message, {}, options);
  }
}

/** Only these rejections are retried (aws-iot-device-client PR #226). */
export function retryableRejection(code: string): boolean {
  return code === 'RequestThrottled' || code === 'InternalError';
}

/** Rejections that mean the execution is over in the cloud (canceled, removed, timed out). */
export function goneRejection(code: string): boolean {
  return code === 'InvalidStateTransition' || code === 'ResourceNotFound' || code === 'TerminalStateReached';
}

export const TERMINAL_REMOTE: ReadonlySet<RemoteStatus> = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'REMOVED', 'CANCELED']);

const STATUSES = new Set<string>(['QUEUED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'REMOVED', 'CANCELED']);

/** Parses a JobExecution payload from the SDK; undefined when it has none or it is malformed. */
export function parseExecution(value: unknown): RemoteExecution | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const { jobId, executionNumber, status, versionNumber } = v;
  if (typeof jobId !== 'string' || typeof status !== 'string' || !STATUSES.has(status)) return undefined;
  const details: Record<string, string> = {};
  if (typeof v['statusDetails'] === 'object' && v['statusDetails'] !== null) {
    for (const [k, d] of Object.entries(v['statusDetails'] as Record<string, unknown>)) if (typeof d === 'string') details[k] = d;
  }
  return {
    jobId,
    executionNumber: typeof executionNumber === 'number' ? executionNumber : 0,
    status: status as RemoteStatus,
    versionNumber: typeof versionNumber === 'number' ? versionNumber : 0,
    document: v['jobDocument'],
    statusDetails: details,
  };
}
