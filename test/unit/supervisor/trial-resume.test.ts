import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialState, type SystemState } from '../../../slots/state.ts';
import { prepare, ready, beginTrial, beginRollback } from '../../../slots/transitions.ts';
import { resume } from '../../../supervisor/trial/resume.ts';
import type { Effect } from '../../../supervisor/trial/effects.ts';

const kinds = (effects: Effect[]): string[] => effects.filter((e) => e.type !== 'log').map((e) => (e.type === 'emit' ? `emit:${e.event.type}` : e.type));
const ctx = { bootId: 'boot1', now: 50, loopLimit: 10 };

function inTrial(over: { attempts?: number; reboot?: boolean } = {}): SystemState {
  const p = prepare(initialState('a'), 1);
  return beginTrial(ready(p.state, 'b', '2.0.0', 'e'.repeat(64)), {
    slot: 'b', jobId: 'j', kind: 'update', attempts: over.attempts ?? 3, bootId: 'boot1', now: 2, reboot: over.reboot ?? false,
  });
}

test('no trial: current points at the committed slot and it starts', () => {
  const d = resume(initialState('a'), ctx);
  assert.deepEqual(kinds(d.effects), ['kill-orphan', 'flip-current', 'start-app']);
});

test('nothing committed: current is removed and nothing starts', () => {
  assert.deepEqual(kinds(resume(initialState(), ctx).effects), ['kill-orphan', 'clear-current']);
});

test('running trial, same boot (supervisor restart): counts an attempt, persists it, then starts the trial slot', () => {
  const d = resume(inTrial(), ctx);
  assert.deepEqual(kinds(d.effects), ['kill-orphan', 'persist', 'flip-current', 'start-app', 'emit:trial-started']);
  assert.equal(d.state.trial?.attemptsLeft, 1);
  assert.equal(d.state.trial?.resumes, 1);
  assert.ok(d.effects.some((e) => e.type === 'log' && e.event === 'trial-resumed-after-restart'));
});

test('running trial, new boot (power cut or watchdog reset): counts an attempt with the new boot id', () => {
  const d = resume(inTrial(), { ...ctx, bootId: 'boot2' });
  assert.equal(d.state.trial?.attemptsLeft, 1);
  assert.equal(d.state.trial?.bootId, 'boot2');
  assert.ok(d.effects.some((e) => e.type === 'log' && e.event === 'trial-resumed-after-reboot'));
});

test('running trial without attempts left rolls back', () => {
  const d = resume(inTrial({ attempts: 1 }), { ...ctx, bootId: 'boot2' });
  assert.equal(d.state.trial, null);
  assert.equal(d.state.committed, 'a');
  assert.equal(d.state.slots.b.status === 'failed' && d.state.slots.b.code, 'TRIAL_ATTEMPTS_EXHAUSTED');
  assert.deepEqual(kinds(d.effects), ['kill-orphan', 'persist', 'stop-app', 'flip-current', 'persist', 'start-app', 'emit:rolled-back']);
});

test('three attempts mean three starts, then rollback', () => {
  let s = inTrial({ attempts: 3 });
  let starts = 1;
  for (let boot = 2; s.trial; boot++) {
    const d = resume(s, { ...ctx, bootId: `boot${boot}` });
    if (d.effects.some((e) => e.type === 'start-app' && e.slot === 'b')) starts++;
    s = d.state;
  }
  assert.equal(starts, 3);
  assert.equal(s.committed, 'a');
});

test('reboot-pending after the reboot: the trial runs without counting another attempt', () => {
  const d = resume(inTrial({ reboot: true }), { ...ctx, bootId: 'boot2' });
  assert.equal(d.state.trial?.phase, 'running');
  assert.equal(d.state.trial?.attemptsLeft, 2);
  assert.deepEqual(kinds(d.effects), ['persist', 'flip-current', 'start-app', 'emit:trial-started']);
});

test('reboot-pending in the same boot: the reboot is asked for again', () => {
  const d = resume(inTrial({ reboot: true }), ctx);
  assert.deepEqual(kinds(d.effects), ['kill-orphan', 'persist', 'reboot']);
  assert.equal(d.state.trial?.resumes, 1);
});

test('the loop guard rolls back a trial that keeps being resumed', () => {
  let s = inTrial({ reboot: true });
  let rounds = 0;
  while (s.trial && rounds < 50) {
    s = resume(s, ctx).state;
    rounds++;
  }
  assert.equal(rounds, ctx.loopLimit);
  assert.equal(s.slots.b.status === 'failed' && s.slots.b.code, 'STATE_LOOP');
});

test('rolling-back is finished with the recorded reason', () => {
  const s = beginRollback(inTrial(), 'HEALTH_HTTP_FAILED', '503 three times');
  const d = resume(s, { ...ctx, bootId: 'boot9' });
  assert.deepEqual(kinds(d.effects), ['kill-orphan', 'persist', 'stop-app', 'flip-current', 'persist', 'start-app', 'emit:rolled-back']);
  assert.deepEqual(d.state.slots.b, { status: 'failed', version: '2.0.0', reason: '503 three times', code: 'HEALTH_HTTP_FAILED' });
});
