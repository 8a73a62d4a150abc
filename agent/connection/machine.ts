// The connection's one explicit state and its pure transition function. The executor
// (connection.ts) feeds it events from the MQTT client, timers and the health check, and runs
// the effects it returns. Nothing here does I/O, reads a clock or draws a random number: the
// time and the jitter draw arrive inside the events, so every path is unit-tested.
//
// On restart of the agent process nothing of this state is persisted: it begins `idle`, and
// the broker's persistent session plus the durable outbox carry what must survive.

import { fullJitter, type BackoffPolicy } from '../../common/backoff.ts';
import type { DisconnectKind, FailureKind } from './reasons.ts';

/** Where the retry loop stands: endpoint in use, failures on it, retry attempt, takeover streak. */
export interface Route {
  endpoint: number;
  failures: number;
  attempt: number;
  takeovers: number;
}

export type RetryPolicy = 'reconnect' | 'auth' | 'takeover';

export type ConnectionState =
  | { kind: 'idle' }
  | { kind: 'waiting-credentials'; route: Route; missing: string }
  | { kind: 'backoff'; route: Route; policy: RetryPolicy; cause: string; dueAt: number }
  | { kind: 'connecting'; route: Route; startedAt: number; lastCause: string | undefined }
  | { kind: 'connected'; route: Route; rejoinedSession: boolean; since: number }
  | { kind: 'stopping' }
  | { kind: 'stopped' };

export type MachineEvent =
  | { type: 'start'; now: number }
  | { type: 'credentials-missing'; path: string; now: number }
  | { type: 'connected'; rejoinedSession: boolean; now: number }
  | { type: 'connect-failed'; kind: FailureKind; detail: string; now: number; random: number }
  | { type: 'disconnected'; kind: DisconnectKind; detail: string; now: number; random: number }
  | { type: 'retry-due'; now: number }
  | { type: 'health-check'; now: number; hasClient: boolean; random: number }
  | { type: 'return-to-primary'; now: number }
  | { type: 'stop' }
  | { type: 'stopped' };

/** What the connection tells the rest of the agent. */
export type ConnectionEvent =
  | { type: 'connecting'; endpoint: number; attempt: number }
  | { type: 'connected'; endpoint: number; rejoinedSession: boolean }
  | { type: 'interrupted'; reason: DisconnectKind; detail: string }
  | { type: 'connect-failed'; reason: FailureKind; detail: string; repeat: boolean }
  | { type: 'auth-failed'; detail: string; repeat: boolean }
  | { type: 'waiting-credentials'; path: string; repeat: boolean }
  | { type: 'retry-scheduled'; policy: RetryPolicy; delayMs: number }
  | { type: 'failover'; from: number; to: number }
  | { type: 'stopped' };

export type Effect =
  | { type: 'connect'; endpoint: number }
  | { type: 'destroy-client' }
  | { type: 'schedule-retry'; delayMs: number }
  | { type: 'cancel-retry' }
  | { type: 'schedule-return-to-primary'; delayMs: number }
  | { type: 'cancel-return-to-primary' }
  | { type: 'shutdown'; online: boolean }
  | { type: 'emit'; event: ConnectionEvent };

export interface MachineSettings {
  endpointCount: number;
  backoff: BackoffPolicy;
  authBackoff: BackoffPolicy;
  takeoverBackoff: BackoffPolicy;
  stableAfterMs: number;
  failoverAfter: number;
  returnToPrimaryMs: number;
  healthCheckMs: number;
  /** An attempt with no outcome after this long is abandoned by the health check. */
  attemptTimeoutMs: number;
}

export interface Step {
  state: ConnectionState;
  effects: Effect[];
}

const FRESH_ROUTE: Route = { endpoint: 0, failures: 0, attempt: 0, takeovers: 0 };

/** The next state and the effects to run for one event. Events that do not apply change nothing. */
export function transition(state: ConnectionState, event: MachineEvent, s: MachineSettings): Step {
  if (event.type === 'stop') return onStop(state);
  switch (state.kind) {
    case 'idle':
      return event.type === 'start' ? connect(FRESH_ROUTE, event.now, undefined) : same(state);
    case 'waiting-credentials':
      return event.type === 'health-check' ? connect(state.route, event.now, `missing:${state.missing}`) : same(state);
    case 'backoff':
      if (event.type === 'retry-due') return connect(state.route, event.now, state.cause);
      // A retry whose timer never fired (suspend, clock jump) is started by the health check.
      if (event.type === 'health-check' && event.now >= state.dueAt + s.healthCheckMs) {
        return connect(state.route, event.now, state.cause);
      }
      return same(state);
    case 'connecting':
      return fromConnecting(state, event, s);
    case 'connected':
      return fromConnected(state, event, s);
    case 'stopping':
      return event.type === 'stopped' ? { state: { kind: 'stopped' }, effects: [emit({ type: 'stopped' })] } : same(state);
    case 'stopped':
      return same(state);
  }
}

function fromConnecting(state: Extract<ConnectionState, { kind: 'connecting' }>, event: MachineEvent, s: MachineSettings): Step {
  if (event.type === 'connected') {
    const route = { ...state.route, failures: 0 };
    const back: Effect =
      route.endpoint === 0 ? { type: 'cancel-return-to-primary' } : { type: 'schedule-return-to-primary', delayMs: s.returnToPrimaryMs };
    return {
      state: { kind: 'connected', route, rejoinedSession: event.rejoinedSession, since: event.now },
      effects: [emit({ type: 'connected', endpoint: route.endpoint, rejoinedSession: event.rejoinedSession }), back],
    };
  }
  if (event.type === 'connect-failed') return failed(state, event.kind, event.detail, event.now, event.random, s);
  if (event.type === 'credentials-missing') {
    const cause = `missing:${event.path}`;
    return {
      state: { kind: 'waiting-credentials', route: state.route, missing: event.path },
      effects: [{ type: 'destroy-client' }, emit({ type: 'waiting-credentials', path: event.path, repeat: state.lastCause === cause })],
    };
  }
  if (event.type === 'health-check' && event.now - state.startedAt > s.attemptTimeoutMs) {
    return failed(state, 'timeout', 'attempt timed out', event.now, event.random, s);
  }
  return same(state);
}

function fromConnected(state: Extract<ConnectionState, { kind: 'connected' }>, event: MachineEvent, s: MachineSettings): Step {
  if (event.type === 'disconnected') return disconnected(state, event, s);
  // The client vanished under a live state (it should not): create and connect a new one.
  if (event.type === 'health-check') return event.hasClient ? same(state) : connect(state.route, event.now, undefined);
  if (event.type === 'return-to-primary' && state.route.endpoint !== 0) {
    const step = connect({ ...FRESH_ROUTE }, event.now, undefined);
    const effects: Effect[] = [{ type: 'destroy-client' }, emit({ type: 'failover', from: state.route.endpoint, to: 0 }), ...step.effects];
    return { state: step.state, effects };
  }
  return same(state);
}

function disconnected(
  state: Extract<ConnectionState, { kind: 'connected' }>,
  event: Extract<MachineEvent, { type: 'disconnected' }>,
  s: MachineSettings,
): Step {
  // A connection that ends soon after it began keeps growing the delay, so a broker or a
  // second process that drops us right after CONNACK cannot drive a tight loop.
  const stable = event.now - state.since >= s.stableAfterMs;
  const attempt = stable ? 0 : state.route.attempt + 1;
  // Some brokers (Mosquitto) close a taken-over connection without DISCONNECT 0x8E, so a
  // second short-lived connection in a row that ends in a bare hangup counts as a takeover too.
  const takenOver = event.kind === 'session-taken-over' || (!stable && event.kind === 'connection-lost');
  const takeovers = takenOver ? (stable ? 1 : state.route.takeovers + 1) : 0;
  const route: Route = { ...state.route, attempt, takeovers };
  const policy: RetryPolicy =
    event.kind === 'session-taken-over' || takeovers >= 2 ? 'takeover' : event.kind === 'not-authorized' ? 'auth' : 'reconnect';
  const delayAttempt = policy === 'takeover' ? Math.max(0, takeovers - 1) : attempt;
  const delayMs = fullJitter(policyOf(policy, s), delayAttempt, () => event.random);
  return {
    state: { kind: 'backoff', route, policy, cause: event.kind, dueAt: event.now + delayMs },
    effects: [
      { type: 'destroy-client' },
      { type: 'cancel-return-to-primary' },
      emit({ type: 'interrupted', reason: event.kind, detail: event.detail }),
      ...retry(policy, delayMs),
    ],
  };
}

function failed(
  state: Extract<ConnectionState, { kind: 'connecting' }>,
  kind: FailureKind,
  detail: string,
  now: number,
  random: number,
  s: MachineSettings,
): Step {
  const effects: Effect[] = [{ type: 'destroy-client' }];
  const cause = `${kind}:${detail}`;
  const repeat = state.lastCause === cause;
  effects.push(emit(kind === 'auth' ? { type: 'auth-failed', detail, repeat } : { type: 'connect-failed', reason: kind, detail, repeat }));
  let route: Route = { ...state.route, failures: state.route.failures + 1, attempt: state.route.attempt + 1 };
  if (s.endpointCount > 1 && route.failures >= s.failoverAfter) {
    const to = (route.endpoint + 1) % s.endpointCount;
    effects.push(emit({ type: 'failover', from: route.endpoint, to }));
    route = { ...route, endpoint: to, failures: 0 };
  }
  const policy: RetryPolicy = kind === 'auth' ? 'auth' : 'reconnect';
  const delayMs = fullJitter(policyOf(policy, s), state.route.attempt, () => random);
  effects.push(...retry(policy, delayMs));
  return { state: { kind: 'backoff', route, policy, cause, dueAt: now + delayMs }, effects };
}

function connect(route: Route, now: number, lastCause: string | undefined): Step {
  return {
    state: { kind: 'connecting', route, startedAt: now, lastCause },
    effects: [{ type: 'connect', endpoint: route.endpoint }, emit({ type: 'connecting', endpoint: route.endpoint, attempt: route.attempt })],
  };
}

function onStop(state: ConnectionState): Step {
  if (state.kind === 'stopping' || state.kind === 'stopped') return same(state);
  return { state: { kind: 'stopping' }, effects: [{ type: 'cancel-retry' }, { type: 'cancel-return-to-primary' }, { type: 'shutdown', online: state.kind === 'connected' }] };
}

function retry(policy: RetryPolicy, delayMs: number): Effect[] {
  return [emit({ type: 'retry-scheduled', policy, delayMs }), { type: 'schedule-retry', delayMs }];
}

function policyOf(policy: RetryPolicy, s: MachineSettings): BackoffPolicy {
  return policy === 'auth' ? s.authBackoff : policy === 'takeover' ? s.takeoverBackoff : s.backoff;
}

function emit(event: ConnectionEvent): Effect {
  return { type: 'emit', event };
}

function same(state: ConnectionState): Step {
  return { state, effects: [] };
}
