// The emulator's jobs state: jobs as CreateJob made them and one record per job execution
// (each retry is a new record with the next executionNumber). Plain JSON, persisted as is.

export type ExecutionStatus =
  | 'QUEUED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'REJECTED' | 'REMOVED' | 'CANCELED';

export type JobStatus = 'IN_PROGRESS' | 'CANCELED' | 'COMPLETED';

export const TERMINAL: ReadonlySet<ExecutionStatus> = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'REMOVED', 'CANCELED']);

/** True when an execution in `status` can never change again. */
export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL.has(status);
}

export type StatusDetails = Record<string, string>;

export interface Execution {
  jobId: string;
  thingName: string;
  executionNumber: number;
  status: ExecutionStatus;
  statusDetails?: StatusDetails;
  /** Milliseconds since the epoch; sent to devices as epoch seconds. */
  queuedAt: number;
  startedAt?: number;
  lastUpdatedAt: number;
  versionNumber: number;
  /** Creation order: ties of queuedAt within one second keep the order executions were made. */
  seq: number;
  retryAttempt: number;
  forceCanceled?: boolean;
  /** Absolute deadlines (ms) of the step timer and the job's in-progress timer. */
  stepDeadline?: number;
  inProgressDeadline?: number;
}

export interface RetryCriteria { failureType: 'FAILED' | 'TIMED_OUT' | 'ALL'; numberOfRetries: number }
export interface AbortCriteria {
  failureType: 'FAILED' | 'REJECTED' | 'TIMED_OUT' | 'ALL';
  action: 'CANCEL';
  thresholdPercentage: number;
  minNumberOfExecutedThings: number;
}

export interface JobConfig {
  timeoutConfig?: { inProgressTimeoutInMinutes?: number };
  jobExecutionsRolloutConfig?: { maximumPerMinute?: number };
  abortConfig?: { criteriaList: AbortCriteria[] };
  jobExecutionsRetryConfig?: { criteriaList: RetryCriteria[] };
  presignedUrlConfig?: { roleArn?: string; expiresInSec?: number };
}

export interface Job extends JobConfig {
  jobId: string;
  description?: string;
  /** The document as given, and parsed (delivered over MQTT as an object). */
  document: string;
  targets: string[];
  /** Targets that have been given an execution (the rollout releases them over time). */
  released: string[];
  status: JobStatus;
  createdAt: number;
  lastUpdatedAt: number;
  completedAt?: number;
  forceCanceled?: boolean;
  comment?: string;
  reasonCode?: string;
}

export interface ThrottleBucket { tokens: number; at: number }

export interface JobsState {
  jobs: Record<string, Job>;
  executions: Execution[];
  nextSeq: number;
  throttle: Record<string, ThrottleBucket>;
}

/** Behaviours where AWS is undocumented or ambiguous: the documented choice is the default. */
export interface EngineSettings {
  /** Region and account used in ARNs. */
  region: string;
  accountId: string;
  /** Code for an update of an execution already in a terminal state. */
  updateTerminalCode: 'InvalidStateTransition' | 'TerminalStateReached';
  /** DescribeJobExecution of a terminal execution: answered, or rejected TerminalStateReached. */
  describeTerminal: 'accepted' | 'TerminalStateReached';
  /** IN_PROGRESS → REJECTED (AWS's OTA library says the service refuses it). */
  allowRejectAfterStart: boolean;
  /** statusDetails on update replaces the stored map, or is merged into it. */
  statusDetailsUpdate: 'replace' | 'merge';
  /** Per-thing token bucket for data-plane requests (RequestThrottled beyond it). */
  requestsPerSecondPerThing: number;
  requestBurstPerThing: number;
}

export const DEFAULT_SETTINGS: EngineSettings = {
  region: 'us-east-1',
  accountId: '123456789012',
  updateTerminalCode: 'InvalidStateTransition',
  describeTerminal: 'accepted',
  allowRejectAfterStart: false,
  statusDetailsUpdate: 'replace',
  requestsPerSecondPerThing: 20,
  requestBurstPerThing: 40,
};

/** An empty state. */
export function emptyState(): JobsState {
  return { jobs: {}, executions: [], nextSeq: 1, throttle: {} };
}

/** An MQTT message the responder publishes. */
export interface OutMessage { topic: string; payload: Record<string, unknown> }

/** What every pure operation returns. */
export interface Outcome<T = undefined> { state: JobsState; messages: OutMessage[]; result: T }

/** Everything a pure operation needs besides state: the time and how to render documents. */
export interface EngineContext {
  now: number;
  settings: EngineSettings;
  /** Turns a stored document into what one delivery sends (presigned URLs filled in). */
  renderDocument(job: Job, now: number): unknown;
}
