// Conformance of what the service does by itself and of the control plane. Sources: [S6]
// "How job configurations work" (timeouts, retries, rollout, abort), [S7] UpdateJobExecution
// stepTimeoutInMinutes (-1 cancels), [S5] "Jobs and job execution states" (CANCELED, REMOVED),
// AWS CLI reference cancel-job / cancel-job-execution / delete-job, [S8] job limits (32 KB document).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodedError } from '../../../common/errors.ts';
import { cancelJob, cancelJobExecution, deleteJob, removeTargets } from '../../../emulator/jobs/control.ts';
import { describeJob, describeJobExecution, listJobExecutions } from '../../../emulator/jobs/views.ts';
import { Engine, kinds } from './harness.ts';

const MIN = 60_000;
const statusOf = (e: Engine, thing: string, jobId: string): unknown =>
  (e.reply(thing, `${jobId}/get`, {}).payload['execution'] as Record<string, unknown> | undefined)?.['status'];
const rejects = (fn: () => unknown, code: string): void => assert.throws(fn, (err: unknown) => err instanceof CodedError && err.code === code);

// [S8] jobDocument ≤ 32768; CreateJob refuses larger documents.
test('documents over 32 KiB are refused at creation; exactly 32 KiB is accepted', () => {
  const e = new Engine();
  const body = (n: number): string => `{"p":"${'x'.repeat(n - 8)}"}`;
  rejects(() => e.create('big', ['t'], { document: body(32_769) }), 'InvalidRequestException');
  assert.equal(body(32_768).length, 32_768);
  e.create('ok', ['t'], { document: body(32_768) });
  rejects(() => e.create('ok', ['t']), 'ResourceAlreadyExistsException');
});

// [S7] stepTimeoutInMinutes → TIMED_OUT when it runs out; -1 clears the step timer.
test('a step timeout turns the execution TIMED_OUT with notify and notify-next; -1 clears it', () => {
  const e = new Engine();
  e.create('j', ['t']);
  e.reply('t', 'start-next', { stepTimeoutInMinutes: 2 });
  const ex = e.reply('t', 'j/get', {}).payload['execution'] as Record<string, unknown>;
  assert.equal(ex['approximateSecondsBeforeTimedOut'], 120);
  assert.deepEqual(e.advance(2 * MIN - 1000), []);
  assert.deepEqual(kinds(e.advance(1000)), ['notify', 'notify-next']);
  assert.equal(statusOf(e, 't', 'j'), 'TIMED_OUT');

  const c = new Engine();
  c.create('j', ['t']);
  c.reply('t', 'start-next', { stepTimeoutInMinutes: 1 });
  c.reply('t', 'j/update', { status: 'IN_PROGRESS', stepTimeoutInMinutes: -1 });
  c.advance(10 * MIN);
  assert.equal(statusOf(c, 't', 'j'), 'IN_PROGRESS');
});

// [S6] the in-progress timer starts at IN_PROGRESS; a later step timer cannot extend past it.
test('the job in-progress timeout times the execution out even when a longer step timer runs', () => {
  const e = new Engine();
  e.create('j', ['t'], { timeoutConfig: { inProgressTimeoutInMinutes: 20 } });
  e.advance(5 * MIN);
  assert.equal(statusOf(e, 't', 'j'), 'QUEUED');
  e.reply('t', 'start-next', {});
  e.advance(13 * MIN);
  e.reply('t', 'j/update', { status: 'IN_PROGRESS', stepTimeoutInMinutes: 9 });
  e.advance(7 * MIN - 1000);
  assert.equal(statusOf(e, 't', 'j'), 'IN_PROGRESS');
  e.advance(1000);
  assert.equal(statusOf(e, 't', 'j'), 'TIMED_OUT');
});

// [S6] retry config: FAILED / TIMED_OUT executions are retried, here as executionNumber + 1.
test('retry config queues a new execution with the next executionNumber until retries run out', () => {
  const e = new Engine();
  e.create('j', ['t'], { jobExecutionsRetryConfig: { criteriaList: [{ failureType: 'FAILED', numberOfRetries: 1 }] } });
  e.reply('t', 'start-next', {});
  const failed = e.reply('t', 'j/update', { status: 'FAILED' });
  assert.deepEqual(kinds(failed.events), ['notify', 'notify-next']);
  const next = (failed.events[1]?.payload['execution'] ?? {}) as Record<string, unknown>;
  assert.deepEqual([next['jobId'], next['status'], next['executionNumber'], next['versionNumber']], ['j', 'QUEUED', 2, 1]);
  assert.equal((e.reply('t', 'j/get', { executionNumber: 1 }).payload['execution'] as Record<string, unknown>)['status'], 'FAILED');
  e.reply('t', 'start-next', {});
  e.reply('t', 'j/update', { status: 'FAILED' });
  assert.equal(statusOf(e, 't', 'j'), 'FAILED');
  assert.equal(describeJob(e.state, 'j', e.settings).job['status'], 'COMPLETED');
});

// AWS CLI cancel-job: QUEUED executions are canceled; IN_PROGRESS ones only with --force.
test('cancel-job cancels QUEUED executions, IN_PROGRESS ones only with force', () => {
  const e = new Engine();
  e.create('j', ['a', 'b']);
  e.reply('a', 'start-next', {});
  e.apply((s, c) => cancelJob(s, { jobId: 'j' }, c));
  assert.deepEqual([statusOf(e, 'a', 'j'), statusOf(e, 'b', 'j')], ['IN_PROGRESS', 'CANCELED']);
  const forced = e.apply((s, c) => cancelJob(s, { jobId: 'j', force: true }, c));
  assert.deepEqual(kinds(forced.messages), ['notify', 'notify-next']);
  assert.equal(statusOf(e, 'a', 'j'), 'CANCELED');
  assert.equal(e.reply('a', 'j/update', { status: 'SUCCEEDED' }).payload['code'], 'InvalidStateTransition');
  assert.equal(describeJobExecution(e.state, { jobId: 'j', thingName: 'a' }, e.settings, e.now).execution['forceCanceled'], true);
});

// AWS CLI cancel-job-execution: IN_PROGRESS needs --force; a terminal execution cannot be canceled.
test('cancel-job-execution refuses IN_PROGRESS without force and terminal executions', () => {
  const e = new Engine();
  e.create('j', ['t']);
  e.reply('t', 'start-next', {});
  rejects(() => e.apply((s, c) => cancelJobExecution(s, { jobId: 'j', thingName: 't' }, c)), 'InvalidStateTransitionException');
  e.apply((s, c) => cancelJobExecution(s, { jobId: 'j', thingName: 'arn:aws:iot:us-east-1:123456789012:thing/t', force: true }, c));
  assert.equal(statusOf(e, 't', 'j'), 'CANCELED');
  rejects(() => e.apply((s, c) => cancelJobExecution(s, { jobId: 'j', thingName: 't', force: true }, c)), 'InvalidStateTransitionException');
});

// [S5] REMOVED: the thing was removed from the job's targets.
test('a thing removed from the targets gets REMOVED and a notify', () => {
  const e = new Engine();
  e.create('j', ['a', 'b']);
  const out = e.apply((s, c) => removeTargets(s, { jobId: 'j', targets: ['a'] }, c));
  assert.deepEqual(out.messages.map((m) => m.topic), ['$aws/things/a/jobs/notify', '$aws/things/a/jobs/notify-next']);
  assert.equal(statusOf(e, 'a', 'j'), 'REMOVED');
  assert.equal(statusOf(e, 'b', 'j'), 'QUEUED');
});

// AWS CLI delete-job: IN_PROGRESS work needs --force; then the execution is gone (ResourceNotFound [S9]).
test('delete-job needs force while an execution runs; afterwards the device gets ResourceNotFound', () => {
  const e = new Engine();
  e.create('j', ['t']);
  e.reply('t', 'start-next', {});
  rejects(() => e.apply((s, c) => deleteJob(s, { jobId: 'j' }, c)), 'InvalidStateTransitionException');
  const gone = e.apply((s, c) => deleteJob(s, { jobId: 'j', force: true }, c));
  assert.deepEqual(kinds(gone.messages), ['notify', 'notify-next']);
  assert.equal(e.reply('t', 'j/get', {}).payload['code'], 'ResourceNotFound');
  assert.equal(e.reply('t', 'j/update', { status: 'SUCCEEDED' }).payload['code'], 'ResourceNotFound');
});

// [S6] rollout: maximumPerMinute things are notified per minute.
test('rollout releases maximumPerMinute executions per minute', () => {
  const e = new Engine();
  e.create('j', ['a', 'b', 'c', 'd', 'e'], { jobExecutionsRolloutConfig: { maximumPerMinute: 2 } });
  const queued = (): number => listJobExecutions(e.state, 'j', e.settings).executionSummaries.length;
  assert.equal(queued(), 2);
  e.advance(MIN - 1);
  assert.equal(queued(), 2);
  e.advance(1);
  assert.equal(queued(), 4);
  e.advance(MIN);
  assert.equal(queued(), 5);
});

// [S6] abort config: past the threshold the job is canceled and QUEUED executions with it.
test('abort config cancels the job once the failure threshold is reached', () => {
  const e = new Engine();
  e.create('j', ['a', 'b', 'c'], { abortConfig: { criteriaList: [{ failureType: 'FAILED', action: 'CANCEL', thresholdPercentage: 50, minNumberOfExecutedThings: 2 }] } });
  e.reply('a', 'j/update', { status: 'FAILED' });
  assert.equal(describeJob(e.state, 'j', e.settings).job['status'], 'IN_PROGRESS');
  e.reply('b', 'j/update', { status: 'FAILED' });
  assert.equal(describeJob(e.state, 'j', e.settings).job['status'], 'CANCELED');
  assert.equal(statusOf(e, 'c', 'j'), 'CANCELED');
});
