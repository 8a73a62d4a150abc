import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionFor, cancellable, guarded, PHASE_KINDS, stepFor, transition, type FinalReport, type Phase, type StepEvent } from '../../../../agent/jobs/phases.ts';

const final: FinalReport = { status: 'FAILED', reason: 'X', message: 'x', details: {} };
const samples: Record<Phase['kind'], Phase> = {
  received: { kind: 'received' },
  downloading: { kind: 'downloading' },
  installing: { kind: 'installing' },
  activating: { kind: 'activating', slot: 'b' },
  trial: { kind: 'trial' },
  'rolling-back': { kind: 'rolling-back' },
  'restarting-app': { kind: 'restarting-app' },
  rebooting: { kind: 'rebooting', bootId: 'boot-1' },
  reporting: { kind: 'reporting', final },
  closed: { kind: 'closed', final, why: 'reported' },
};
const timeouts = { checkMinutes: 1, downloadMinutes: 2, installMinutes: 3, trialMinutes: 4, rebootMinutes: 5 };

test('every phase has a defined action for entering and for resuming after a restart', () => {
  for (const kind of PHASE_KINDS) {
    const phase = samples[kind];
    assert.ok(actionFor(phase, false));
    assert.ok(actionFor(phase, true));
  }
});

test('the restart table: activation is reconciled, never repeated blindly', () => {
  assert.equal(actionFor(samples.activating, false), 'activate');
  assert.equal(actionFor(samples.activating, true), 'reconcile-activation');
  assert.equal(actionFor(samples.downloading, true), 'download');
  assert.equal(actionFor(samples.trial, true), 'await-trial');
  assert.equal(actionFor(samples['rolling-back'], true), 'reconcile-rollback');
  assert.equal(actionFor(samples.reporting, true), 'send-report');
  assert.equal(actionFor(samples.closed, true), 'none');
  assert.equal(actionFor({ kind: 'closed', final: null, why: 'canceled' }, true), 'cleanup');
  assert.equal(actionFor({ kind: 'rebooting', bootId: '' }, false), 'note-boot-id');
  assert.equal(actionFor(samples.rebooting, true), 'await-reboot');
});

test('an install walks received → downloading → installing → activating → trial → reporting → closed', () => {
  const events: StepEvent[] = [
    { type: 'start', operation: 'install' }, { type: 'downloaded' }, { type: 'installed', slot: 'b' }, { type: 'activated' },
    { type: 'finished', final: { ...final, status: 'SUCCEEDED' } }, { type: 'report-accepted' },
  ];
  let phase: Phase = samples.received;
  const seen: string[] = [phase.kind];
  for (const e of events) {
    phase = transition(phase, e);
    seen.push(phase.kind);
  }
  assert.deepEqual(seen, ['received', 'downloading', 'installing', 'activating', 'trial', 'reporting', 'closed']);
  assert.deepEqual(phase, { kind: 'closed', final: { ...final, status: 'SUCCEEDED' }, why: 'reported' });
});

test('each operation starts in its own phase', () => {
  assert.equal(transition(samples.received, { type: 'start', operation: 'rollback' }).kind, 'rolling-back');
  // A journal entry lost after activation: the supervisor's trial of the job is adopted, never activated again.
  assert.equal(transition(samples.received, { type: 'activation-found' }).kind, 'trial');
  assert.equal(transition(samples.downloading, { type: 'activation-found' }), samples.downloading);
  assert.equal(transition(samples.received, { type: 'start', operation: 'restart-app' }).kind, 'restarting-app');
  assert.deepEqual(transition(samples.received, { type: 'start', operation: 'reboot' }), { kind: 'rebooting', bootId: '' });
});

test('a cancel stops work only before activation', () => {
  for (const kind of PHASE_KINDS) {
    const after = transition(samples[kind], { type: 'canceled' });
    if (kind === 'received' || kind === 'downloading' || kind === 'installing') {
      assert.ok(cancellable(samples[kind]));
      assert.deepEqual(after, { kind: 'closed', final: null, why: 'canceled' });
    } else {
      assert.equal(cancellable(samples[kind]), false);
      assert.deepEqual(after, samples[kind]);
    }
  }
});

test('a final report stays until accepted; gone closes and keeps the report', () => {
  const reporting = transition(samples.downloading, { type: 'finished', final });
  assert.deepEqual(reporting, { kind: 'reporting', final });
  assert.deepEqual(transition(reporting, { type: 'finished', final: { ...final, reason: 'Y' } }), reporting);
  assert.deepEqual(transition(reporting, { type: 'gone' }), { kind: 'closed', final, why: 'gone' });
});

test('closed is absorbing', () => {
  for (const e of [{ type: 'start', operation: 'install' }, { type: 'canceled' }, { type: 'gone' }, { type: 'finished', final }] as StepEvent[]) {
    assert.deepEqual(transition(samples.closed, e), samples.closed);
  }
});

test('events out of place leave the phase unchanged', () => {
  assert.deepEqual(transition(samples.received, { type: 'activated' }), samples.received);
  assert.deepEqual(transition(samples.trial, { type: 'downloaded' }), samples.trial);
});

test('step timeouts per phase; none once reporting', () => {
  assert.deepEqual(stepFor(samples.downloading, timeouts), { name: 'downloading', minutes: 2 });
  assert.deepEqual(stepFor(samples.trial, timeouts), { name: 'trial', minutes: 4 });
  assert.equal(stepFor(samples.reporting, timeouts), null);
  assert.equal(guarded(samples.downloading), true);
  assert.equal(guarded(samples.trial), false);
});
