import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transition, type ConnectionState, type MachineEvent, type MachineSettings } from '../../../../agent/connection/machine.ts';

const S: MachineSettings = {
  endpointCount: 2,
  backoff: { baseMs: 1000, maxMs: 8000 },
  authBackoff: { baseMs: 60_000, maxMs: 900_000 },
  takeoverBackoff: { baseMs: 30_000, maxMs: 600_000 },
  stableAfterMs: 30_000,
  failoverAfter: 3,
  returnToPrimaryMs: 1_800_000,
  healthCheckMs: 1000,
  attemptTimeoutMs: 20_000,
};

function run(events: MachineEvent[], start: ConnectionState = { kind: 'idle' }) {
  let state = start;
  const effects = [];
  for (const e of events) {
    const step = transition(state, e, S);
    state = step.state;
    effects.push(...step.effects);
  }
  return { state, effects };
}

const fail = (kind: 'auth' | 'network', now = 0, random = 0.5): MachineEvent => ({ type: 'connect-failed', kind, detail: 'x', now, random });

test('start connects to the primary endpoint', () => {
  const { state, effects } = run([{ type: 'start', now: 0 }]);
  assert.equal(state.kind, 'connecting');
  assert.deepEqual(effects[0], { type: 'connect', endpoint: 0 });
});

test('a network failure backs off with full jitter, then retries', () => {
  const { state, effects } = run([{ type: 'start', now: 0 }, fail('network', 10, 0.5)]);
  assert.equal(state.kind, 'backoff');
  assert.ok(effects.some((e) => e.type === 'schedule-retry' && e.delayMs === 500));
  const next = transition(state, { type: 'retry-due', now: 600 }, S);
  assert.equal(next.state.kind, 'connecting');
});

test('auth failures use the slow policy and log their cause once per change', () => {
  const { state, effects } = run([{ type: 'start', now: 0 }, fail('auth', 0, 0.5), { type: 'retry-due', now: 1 }, fail('auth', 2, 0.5)]);
  assert.equal(state.kind === 'backoff' && state.policy, 'auth');
  const auth = effects.filter((e) => e.type === 'emit' && e.event.type === 'auth-failed');
  assert.deepEqual(auth.map((e) => e.type === 'emit' && e.event.type === 'auth-failed' && e.event.repeat), [false, true]);
  assert.ok(effects.some((e) => e.type === 'schedule-retry' && e.delayMs === 60_000));
});

test('K failures on the primary fail over to the next endpoint; connected there schedules the return', () => {
  const events: MachineEvent[] = [{ type: 'start', now: 0 }];
  for (let i = 0; i < 3; i += 1) events.push(fail('network', i), { type: 'retry-due', now: i });
  const { state, effects } = run([...events, { type: 'connected', rejoinedSession: false, now: 10 }]);
  assert.equal(state.kind === 'connected' && state.route.endpoint, 1);
  assert.ok(effects.some((e) => e.type === 'emit' && e.event.type === 'failover' && e.event.to === 1));
  assert.ok(effects.some((e) => e.type === 'schedule-return-to-primary'));
  const back = transition(state, { type: 'return-to-primary', now: 20 }, S);
  assert.ok(back.state.kind === 'connecting' && back.state.route.endpoint === 0);
});

test('repeated takeovers of short connections use the takeover backoff with growing delay', () => {
  let state: ConnectionState = { kind: 'connected', route: { endpoint: 0, failures: 0, attempt: 0, takeovers: 0 }, rejoinedSession: true, since: 0 };
  const delays: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    const step = transition(state, { type: 'disconnected', kind: 'session-taken-over', detail: '', now: 100, random: 0.999 }, S);
    for (const e of step.effects) if (e.type === 'schedule-retry') delays.push(e.delayMs);
    state = { kind: 'connected', route: step.state.kind === 'backoff' ? step.state.route : state.route, rejoinedSession: true, since: 0 };
  }
  assert.ok(delays[0]! >= 29_000 && delays[1]! > delays[0]! && delays[2]! > delays[1]!, delays.join(','));
});

test('a stable connection resets the attempt; missing credentials wait for the health check', () => {
  const connected: ConnectionState = { kind: 'connected', route: { endpoint: 0, failures: 0, attempt: 7, takeovers: 0 }, rejoinedSession: true, since: 0 };
  const lost = transition(connected, { type: 'disconnected', kind: 'connection-lost', detail: '', now: 60_000, random: 0.999 }, S);
  assert.ok(lost.state.kind === 'backoff' && lost.state.route.attempt === 0);
  const waiting = run([{ type: 'start', now: 0 }, { type: 'credentials-missing', path: '/c', now: 0 }]);
  assert.equal(waiting.state.kind, 'waiting-credentials');
  assert.equal(transition(waiting.state, { type: 'health-check', now: 5, hasClient: false, random: 0 }, S).state.kind, 'connecting');
});

test('health check remediates a lost client, a lost timer and a hung attempt', () => {
  const connected: ConnectionState = { kind: 'connected', route: { endpoint: 0, failures: 0, attempt: 0, takeovers: 0 }, rejoinedSession: true, since: 0 };
  assert.equal(transition(connected, { type: 'health-check', now: 1, hasClient: false, random: 0 }, S).state.kind, 'connecting');
  const backoff: ConnectionState = { kind: 'backoff', route: connected.route, policy: 'reconnect', cause: 'x', dueAt: 100 };
  assert.equal(transition(backoff, { type: 'health-check', now: 50, hasClient: false, random: 0 }, S).state.kind, 'backoff');
  assert.equal(transition(backoff, { type: 'health-check', now: 5000, hasClient: false, random: 0 }, S).state.kind, 'connecting');
  const hung: ConnectionState = { kind: 'connecting', route: connected.route, startedAt: 0, lastCause: undefined };
  assert.equal(transition(hung, { type: 'health-check', now: 30_000, hasClient: true, random: 0 }, S).state.kind, 'backoff');
});

test('stop from any live state shuts down once; stale events after stop change nothing', () => {
  const { state, effects } = run([{ type: 'start', now: 0 }, { type: 'connected', rejoinedSession: false, now: 1 }, { type: 'stop' }, { type: 'stop' }]);
  assert.equal(state.kind, 'stopping');
  assert.deepEqual(effects.filter((e) => e.type === 'shutdown'), [{ type: 'shutdown', online: true }]);
  assert.equal(transition(state, fail('network'), S).state.kind, 'stopping');
  assert.equal(transition(state, { type: 'stopped' }, S).state.kind, 'stopped');
});
