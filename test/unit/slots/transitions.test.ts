import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialState, expectedCurrent, inactiveSlot, type SystemState } from '../../../slots/state.ts';
import { beginRollback, beginTrial, commit, fail, finishRollback, nextAttempt, prepare, ready } from '../../../slots/transitions.ts';
import { CodedError } from '../../../common/errors.ts';

const sha = 'a'.repeat(64);
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof CodedError) return String(err.code);
    throw err;
  }
  return 'NO_ERROR';
};

function readyB(): SystemState {
  const p = prepare(initialState('a'), 1);
  assert.equal(p.slot, 'b');
  return ready(p.state, 'b', '2.0.0', sha);
}

const trialOpts = { slot: 'b', jobId: 'j1', kind: 'update', attempts: 3, bootId: 'boot1', now: 5, reboot: false } as const;

test('prepare marks the inactive slot installing and never the committed one', () => {
  const p = prepare(initialState('a'), 7);
  assert.deepEqual(p.state.slots.b, { status: 'installing', since: 7 });
  assert.equal(p.state.slots.a.status, 'ready');
  assert.equal(prepare(initialState(), 1).slot, 'a');
});

test('prepare and activate are refused while a trial runs', () => {
  const s = beginTrial(readyB(), trialOpts);
  assert.equal(inactiveSlot(s), null);
  assert.equal(codeOf(() => prepare(s, 1)), 'TRIAL_IN_PROGRESS');
  assert.equal(codeOf(() => beginTrial(s, trialOpts)), 'TRIAL_IN_PROGRESS');
});

test('ready needs an installing slot; a trial needs a ready slot that is not committed', () => {
  assert.equal(codeOf(() => ready(initialState('a'), 'b', '1.0.0', sha)), 'SLOT_NOT_INSTALLING');
  assert.equal(codeOf(() => beginTrial(initialState('a'), trialOpts)), 'SLOT_NOT_READY');
  assert.equal(codeOf(() => beginTrial(readyB(), { ...trialOpts, slot: 'a' })), 'SLOT_IS_COMMITTED');
  assert.equal(codeOf(() => beginTrial(readyB(), { ...trialOpts, attempts: 0 })), 'BAD_ATTEMPTS');
});

test('the first attempt is counted when the trial begins', () => {
  const s = beginTrial(readyB(), trialOpts);
  assert.equal(s.trial?.attemptsLeft, 2);
  assert.equal(s.trial?.version, '2.0.0');
  assert.equal(s.trial?.phase, 'running');
  assert.equal(expectedCurrent(s), 'b');
  assert.equal(beginTrial(readyB(), { ...trialOpts, reboot: true }).trial?.phase, 'reboot-pending');
});

test('nextAttempt counts down and refuses at zero', () => {
  let s = beginTrial(readyB(), trialOpts);
  s = nextAttempt(s, 'boot2', 9);
  assert.equal(s.trial?.attemptsLeft, 1);
  assert.equal(s.trial?.bootId, 'boot2');
  s = nextAttempt(s, 'boot3', 10);
  assert.equal(codeOf(() => nextAttempt(s, 'boot4', 11)), 'ATTEMPTS_EXHAUSTED');
});

test('commit makes the trial slot committed and keeps the old one as previous', () => {
  const s = commit(beginTrial(readyB(), trialOpts), 20);
  assert.equal(s.committed, 'b');
  assert.equal(s.previous, 'a');
  assert.equal(s.trial, null);
  assert.deepEqual(s.lastOutcome, { kind: 'committed', slot: 'b', version: '2.0.0', jobId: 'j1', at: 20 });
  assert.equal(codeOf(() => commit(s, 21)), 'NO_TRIAL');
  const rolling = beginRollback(beginTrial(readyB(), trialOpts), 'X', 'y');
  assert.equal(codeOf(() => commit(rolling, 21)), 'TRIAL_NOT_RUNNING');
});

test('rollback keeps the committed slot and marks the trial slot failed with the reason', () => {
  let s = beginRollback(beginTrial(readyB(), trialOpts), 'HEALTH_START_TIMEOUT', 'not ready in 10 s');
  assert.equal(s.trial?.phase, 'rolling-back');
  assert.equal(expectedCurrent(s), 'a');
  assert.equal(beginRollback(s, 'OTHER', 'ignored'), s, 'a second verdict does not change the first');
  s = finishRollback(s, 30);
  assert.equal(s.committed, 'a');
  assert.deepEqual(s.slots.b, { status: 'failed', version: '2.0.0', reason: 'not ready in 10 s', code: 'HEALTH_START_TIMEOUT' });
  assert.equal(s.lastOutcome?.kind, 'rolled-back');
  assert.equal(codeOf(() => beginTrial(s, trialOpts)), 'SLOT_NOT_READY', 'a failed slot is never retried');
  assert.equal(codeOf(() => finishRollback(s, 31)), 'NOT_ROLLING_BACK');
});

test('a failed revert drops the previous slot; preparing the previous slot drops it too', () => {
  const committedB = commit(beginTrial(readyB(), trialOpts), 20);
  const revert = beginTrial(committedB, { ...trialOpts, slot: 'a', kind: 'revert' });
  const after = finishRollback(beginRollback(revert, 'APP_EXITED', 'exit 1'), 40);
  assert.equal(after.previous, null);
  assert.equal(after.committed, 'b');
  assert.equal(prepare(committedB, 50).state.previous, null);
});

test('fail marks an installing slot failed', () => {
  const p = prepare(initialState('a'), 1);
  assert.equal(fail(p.state, 'b', 'INSTALL_ABORTED', 'cancelled').slots.b.status, 'failed');
  assert.equal(codeOf(() => fail(initialState('a'), 'a', 'X', 'y')), 'SLOT_NOT_INSTALLING');
});
