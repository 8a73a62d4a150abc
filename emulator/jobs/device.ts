// The Jobs device data plane as a pure function: (state, request topic, payload) → new state,
// the reply on /accepted or /rejected, then notify and notify-next [S1 "Jobs device MQTT API"].

import type { EngineContext, Execution, JobsState, OutMessage, Outcome } from './model.ts';
import { isTerminal } from './model.ts';
import { eventsFor, changedThings } from './events.ts';
import { settle } from './lifecycle.ts';
import { findExecution, headFor, pendingFor, replaceExecution } from './queries.ts';
import { acceptedTopic, errorPayload, executionPayload, executionStatePayload, parseTopic, rejectedTopic, replyBase, summaryPayload, type ErrorCode } from './topics.ts';
import { RequestError, checkClientToken, clientTokenOf, flagOf, integerOf, parseBody, statusDetailsOf, stepTimeoutOf, updateStatusOf, type DeviceStatus } from './validate.ts';
import type { StatusDetails } from './model.ts';

class Rejection extends Error {
  readonly code: ErrorCode;
  readonly execution: Execution | undefined;
  constructor(code: ErrorCode, message: string, execution?: Execution) {
    super(message);
    this.code = code;
    this.execution = execution;
  }
}

interface Reply { state: JobsState; payload: Record<string, unknown> }

/** Handles one message a device published; returns the messages the service sends back. */
export function handleDeviceMessage(state: JobsState, topic: string, payload: Uint8Array, ctx: EngineContext): Outcome {
  const req = parseTopic(topic);
  if (req.kind === 'ignore') return { state, messages: [], result: undefined };
  let token: string | undefined;
  const throttled = takeToken(state, req.thing, ctx);
  try {
    const body = parseBody(payload);
    token = clientTokenOf(body);
    if (!throttled.ok) throw new Rejection('RequestThrottled', 'The rate exceeds the limit.');
    if (req.kind === 'invalid') throw new Rejection('InvalidTopic', `Request topic ${req.topic} is not a Jobs API topic`);
    checkClientToken(body);
    const reply = dispatch(throttled.state, req, body, token, ctx);
    const after = settle(reply.state, ctx.now);
    const messages: OutMessage[] = [{ topic: acceptedTopic(req.topic), payload: reply.payload }];
    messages.push(...eventsFor(state, after, changedThings(state, after), ctx));
    return { state: after, messages, result: undefined };
  } catch (err) {
    if (!(err instanceof Rejection) && !(err instanceof RequestError)) throw err;
    const execution = err instanceof Rejection ? err.execution : undefined;
    const message = errorPayload(err.code, err.message, token, ctx.now, execution);
    return { state: throttled.state, messages: [{ topic: rejectedTopic(req.topic), payload: message }], result: undefined };
  }
}

function takeToken(state: JobsState, thing: string, ctx: EngineContext): { ok: boolean; state: JobsState } {
  const { requestsPerSecondPerThing: rate, requestBurstPerThing: burst } = ctx.settings;
  const bucket = state.throttle[thing] ?? { tokens: burst, at: ctx.now };
  const tokens = Math.min(burst, bucket.tokens + (Math.max(0, ctx.now - bucket.at) / 1000) * rate);
  const ok = tokens >= 1;
  const next = { tokens: ok ? tokens - 1 : tokens, at: ctx.now };
  return { ok, state: { ...state, throttle: { ...state.throttle, [thing]: next } } };
}

type Routed = Exclude<ReturnType<typeof parseTopic>, { kind: 'ignore' } | { kind: 'invalid' }>;

function dispatch(state: JobsState, req: Routed, body: Record<string, unknown>, token: string | undefined, ctx: EngineContext): Reply {
  switch (req.kind) {
    case 'get': return getPending(state, req.thing, token, ctx);
    case 'start-next': return startNext(state, req.thing, body, token, ctx);
    case 'describe': return describe(state, req.thing, req.jobId, body, token, ctx);
    case 'update': return update(state, req.thing, req.jobId, body, token, ctx);
  }
}

function getPending(state: JobsState, thing: string, token: string | undefined, ctx: EngineContext): Reply {
  const pending = pendingFor(state, thing).slice(0, 10);
  const inProgressJobs = pending.filter((e) => e.status === 'IN_PROGRESS').map(summaryPayload);
  const queuedJobs = pending.filter((e) => e.status === 'QUEUED').map(summaryPayload);
  return { state, payload: { ...replyBase(token, ctx.now), inProgressJobs, queuedJobs } };
}

function documentOf(state: JobsState, e: Execution, ctx: EngineContext): unknown {
  const job = state.jobs[e.jobId];
  return job ? ctx.renderDocument(job, ctx.now) : undefined;
}

function startNext(state: JobsState, thing: string, body: Record<string, unknown>, token: string | undefined, ctx: EngineContext): Reply {
  const details = statusDetailsOf(body);
  const step = stepTimeoutOf(body);
  const head = headFor(state, thing);
  if (!head) return { state, payload: replyBase(token, ctx.now) };
  // An execution already IN_PROGRESS is returned as it is: its statusDetails are not changed.
  const started = head.status === 'QUEUED' ? transition(state, head, 'IN_PROGRESS', details, step, ctx) : head;
  const next = started === head ? state : replaceExecution(state, started);
  return { state: next, payload: { ...replyBase(token, ctx.now), execution: executionPayload(started, ctx.now, documentOf(next, started, ctx)) } };
}

function describe(state: JobsState, thing: string, jobId: string, body: Record<string, unknown>, token: string | undefined, ctx: EngineContext): Reply {
  const executionNumber = integerOf(body, 'executionNumber');
  const withDocument = flagOf(body, 'includeJobDocument', true);
  const e = jobId === '$next' ? headFor(state, thing) : findExecution(state, thing, jobId, executionNumber);
  if (!e) {
    if (jobId === '$next') return { state, payload: replyBase(token, ctx.now) };
    throw new Rejection('ResourceNotFound', `Job Execution not found for job ${jobId} and thing ${thing}`);
  }
  if (isTerminal(e.status) && ctx.settings.describeTerminal === 'TerminalStateReached') {
    throw new Rejection('TerminalStateReached', `Job execution ${jobId} is in a terminal state ${e.status}`);
  }
  const document = withDocument ? documentOf(state, e, ctx) : undefined;
  return { state, payload: { ...replyBase(token, ctx.now), execution: executionPayload(e, ctx.now, document) } };
}

function update(state: JobsState, thing: string, jobId: string, body: Record<string, unknown>, token: string | undefined, ctx: EngineContext): Reply {
  const status = updateStatusOf(body);
  const details = statusDetailsOf(body);
  const step = stepTimeoutOf(body);
  const expected = integerOf(body, 'expectedVersion');
  const executionNumber = integerOf(body, 'executionNumber');
  const withState = flagOf(body, 'includeJobExecutionState', false);
  const withDocument = flagOf(body, 'includeJobDocument', false);
  const e = findExecution(state, thing, jobId, executionNumber);
  if (!e) throw new Rejection('ResourceNotFound', `Job Execution not found for job ${jobId} and thing ${thing}`);
  if (expected !== undefined && expected !== e.versionNumber) {
    throw new Rejection('VersionMismatch', `Expected version ${expected} does not match the current version ${e.versionNumber}`, e);
  }
  if (isTerminal(e.status)) {
    throw new Rejection(ctx.settings.updateTerminalCode, `Job execution is already in terminal state ${e.status}; it cannot be updated to ${status}`, e);
  }
  if (e.status === 'IN_PROGRESS' && status === 'REJECTED' && !ctx.settings.allowRejectAfterStart) {
    throw new Rejection('InvalidStateTransition', 'A job execution that has started cannot be REJECTED', e);
  }
  const updated = transition(state, e, status, details, step, ctx);
  const next = replaceExecution(state, updated);
  const payload = replyBase(token, ctx.now);
  if (withState) payload['executionState'] = executionStatePayload(updated);
  if (withDocument) payload['jobDocument'] = documentOf(next, updated, ctx);
  return { state: next, payload };
}

/** One accepted device update: versionNumber +1, timers set, cleared or ended. */
function transition(state: JobsState, e: Execution, status: DeviceStatus, details: StatusDetails | undefined, step: number | undefined, ctx: EngineContext): Execution {
  const now = ctx.now;
  const out: Execution = { ...e, status, lastUpdatedAt: now, versionNumber: e.versionNumber + 1 };
  if (details !== undefined) {
    out.statusDetails = ctx.settings.statusDetailsUpdate === 'merge' ? { ...e.statusDetails, ...details } : details;
  }
  if (status === 'IN_PROGRESS' && e.status === 'QUEUED') {
    out.startedAt = now;
    const minutes = state.jobs[e.jobId]?.timeoutConfig?.inProgressTimeoutInMinutes;
    if (minutes) out.inProgressDeadline = now + minutes * 60_000;
  }
  if (step === -1) delete out.stepDeadline;
  else if (step !== undefined) out.stepDeadline = now + step * 60_000;
  if (isTerminal(status)) {
    delete out.stepDeadline;
    delete out.inProgressDeadline;
  }
  return out;
}
