import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialState, type SystemState } from '../../../slots/state.ts';
import { prepare, ready, commit as commitState, beginTrial } from '../../../slots/transitions.ts';
import { transition } from '../../../supervisor/trial/machine.ts';
import type { Effect } from '../../../supervisor/trial/effects.ts';

const sha = 'd'.repeat(64);
function readyB(): SystemState {
  const p = prepare(initialState('a'), 1);
  return ready(p.state, 'b', '2.0.0', sha);
}
const kinds = (effects: Effect[]): string[] => effects.filter((e) => e.type !== 'log').map((e) => (e.type === 'emit' ? `emit:${e.event.type}` : e.type));
const activate = { type: 'activate', slot: 'b', jobId: 'j1', reboot: false, attempts: 3, bootId: 'boot1', now: 10 } as const;

test('activate persists the counted trial before current flips and before the app starts', () => {
  const d = transition(readyB(), activate);
  assert.deepEqual(kinds(d.effects), ['persist', 'flip-current', 'start-app', 'emit:trial-started']);
  const first = d.effects[0];
  assert.ok(first?.type === 'persist' && first.state.trial?.attemptsLeft === 2);
});

test('activate with reboot persists, flips, tells the agent, stops the app, then reboots', () => {
  const d = transition(readyB(), { ...activate, reboot: true });
  assert.deepEqual(kinds(d.effects), ['persist', 'flip-current', 'emit:trial-started', 'stop-app', 'reboot']);
  assert.equal(d.state.trial?.phase, 'reboot-pending');
});

test('probation commits only when the trial slot runs and stayed healthy since the armed time', () => {
  const s = transition(readyB(), activate).state;
  const stale = transition(s, { type: 'probation-elapsed', armedSince: 100, healthySince: 150, running: 'b', now: 200 });
  assert.deepEqual(stale.effects, [], 'a health break re-arms; the stale timer does nothing');
  assert.deepEqual(transition(s, { type: 'probation-elapsed', armedSince: 100, healthySince: null, running: 'b', now: 200 }).effects, []);
  const ok = transition(s, { type: 'probation-elapsed', armedSince: 100, healthySince: 100, running: 'b', now: 200 });
  assert.deepEqual(kinds(ok.effects), ['persist', 'emit:committed']);
  assert.equal(ok.state.committed, 'b');
  assert.equal(ok.state.previous, 'a');
});

test('probation with another slot running is a failure, not a commit', () => {
  const s = transition(readyB(), activate).state;
  const d = transition(s, { type: 'probation-elapsed', armedSince: 100, healthySince: 100, running: 'a', now: 200 });
  assert.equal(d.state.committed, 'a');
  assert.equal(d.state.slots.b.status, 'failed');
  assert.equal(d.state.lastOutcome?.kind === 'rolled-back' && d.state.lastOutcome.code, 'TRIAL_SLOT_NOT_RUNNING');
});

for (const code of ['HEALTH_START_TIMEOUT', 'HEALTH_HTTP_FAILED', 'HEALTH_COMMAND_FAILED', 'HEALTH_NOTIFY_TIMEOUT', 'APP_EXITED', 'APP_CRASH_LOOP']) {
  test(`${code} during a trial rolls back to the committed slot and marks the trial slot failed`, () => {
    const s = transition(readyB(), activate).state;
    const d = transition(s, { type: 'failed', code, reason: 'because', running: 'b', now: 300 });
    assert.deepEqual(kinds(d.effects), ['persist', 'stop-app', 'flip-current', 'persist', 'start-app', 'emit:rolled-back']);
    const [verdict, , flip, end, start] = d.effects;
    assert.ok(verdict?.type === 'persist' && verdict.state.trial?.phase === 'rolling-back');
    assert.ok(flip?.type === 'flip-current' && flip.slot === 'a');
    assert.ok(end?.type === 'persist' && end.state.trial === null);
    assert.ok(start?.type === 'start-app' && start.slot === 'a');
    assert.deepEqual(d.state.slots.b, { status: 'failed', version: '2.0.0', reason: 'because', code });
  });
}

test('a failure of the committed app is never a rollback', () => {
  const s = readyB();
  assert.deepEqual(transition(s, { type: 'failed', code: 'APP_CRASH_LOOP', reason: 'x', running: 'a', now: 1 }).effects, []);
  const trial = transition(s, activate).state;
  assert.deepEqual(transition(trial, { type: 'failed', code: 'APP_EXITED', reason: 'old app', running: 'a', now: 1 }).effects, []);
});

test('a failed first install leaves no current and starts nothing', () => {
  const p = prepare(initialState(), 1);
  const s = transition(ready(p.state, 'a', '1.0.0', sha), { ...activate, slot: 'a' }).state;
  const d = transition(s, { type: 'failed', code: 'APP_EXITED', reason: 'exit 1', running: 'a', now: 5 });
  assert.deepEqual(kinds(d.effects), ['persist', 'stop-app', 'clear-current', 'persist', 'emit:rolled-back']);
  assert.equal(d.state.committed, null);
});

test('revert runs the previous committed slot as a trial; without one it is refused', () => {
  const committedB = commitState(beginTrial(readyB(), { slot: 'b', jobId: 'j1', kind: 'update', attempts: 3, bootId: 'x', now: 1, reboot: false }), 2);
  const d = transition(committedB, { type: 'revert', jobId: 'r1', attempts: 2, bootId: 'x', now: 3 });
  assert.equal(d.state.trial?.slot, 'a');
  assert.equal(d.state.trial?.kind, 'revert');
  assert.throws(() => transition(readyB(), { type: 'revert', jobId: 'r1', attempts: 2, bootId: 'x', now: 3 }), { code: 'NO_PREVIOUS_VERSION' });
});

test('refused activations change nothing', () => {
  const s = readyB();
  assert.throws(() => transition(s, { ...activate, slot: 'a' }), { code: 'SLOT_IS_COMMITTED' });
  const t = transition(s, activate).state;
  assert.throws(() => transition(t, activate), { code: 'TRIAL_IN_PROGRESS' });
});
