// Conformance of the Jobs device data plane. Sources: [S1] "Jobs device MQTT API"
// (docs.aws.amazon.com/iot/latest/developerguide/jobs-mqtt-api.html), [S3] "AWS IoT jobs
// APIs" ErrorResponse, [S4] "Jobs notifications", [S7] API_iot-jobs-data UpdateJobExecution /
// JobExecution, [S11] live captures in aws-iot-device-sdk-js-v2 samples/node/service_clients/jobs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, kinds, T0 } from './harness.ts';

// [S1] clientToken is echoed in accepted and rejected responses.
test('clientToken is echoed in accepted and rejected replies; timestamps are epoch seconds', () => {
  const e = new Engine();
  const ok = e.reply('t', 'get', { clientToken: 'tok-1' });
  assert.deepEqual(ok, { outcome: 'accepted', payload: { clientToken: 'tok-1', timestamp: T0 / 1000, inProgressJobs: [], queuedJobs: [] }, events: [] });
  const bad = e.reply('t', 'nope/update', { clientToken: 'tok-2' });
  assert.equal(bad.outcome, 'rejected');
  assert.equal(bad.payload['clientToken'], 'tok-2');
  assert.equal(bad.payload['code'], 'InvalidRequest');
});

// [S3] InvalidTopic, InvalidJson, InvalidRequest (missing status: "Value null at 'status'").
test('error codes: InvalidTopic, InvalidJson, InvalidRequest', () => {
  const e = new Engine();
  e.create('j', ['t']);
  assert.equal(e.reply('t', 'j/frobnicate', {}).payload['code'], 'InvalidTopic');
  assert.equal(e.reply('t', 'get', '{not json').payload['code'], 'InvalidJson');
  const missing = e.reply('t', 'j/update', { clientToken: 'c' });
  assert.equal(missing.payload['code'], 'InvalidRequest');
  assert.match(String(missing.payload['message']), /Value null at 'status'/);
  assert.equal(e.reply('t', 'j/update', { status: 'CANCELED' }).payload['code'], 'InvalidRequest');
  // An empty payload is a valid request (embedded-C issue #1808 log).
  assert.equal(e.reply('t', '$next/get', '').outcome, 'accepted');
});

// [S1, S4, S11] nothing pending: start-next and $next answer without `execution`.
test('nothing pending: start-next and $next/get answer without execution', () => {
  const e = new Engine();
  assert.deepEqual(e.reply('t', 'start-next', { clientToken: 'a' }).payload, { clientToken: 'a', timestamp: T0 / 1000 });
  assert.deepEqual(e.reply('t', '$next/get', {}).payload, { timestamp: T0 / 1000 });
});

// [S11] versionNumber 1 when queued, +1 on each update including start-next; executionNumber 1.
test('versionNumber counts every update including start-next', () => {
  const e = new Engine();
  e.create('j', ['t']);
  const started = e.reply('t', 'start-next', {}).payload['execution'] as Record<string, unknown>;
  assert.equal(started['versionNumber'], 2);
  assert.equal(started['executionNumber'], 1);
  const upd = e.reply('t', 'j/update', { status: 'IN_PROGRESS', includeJobExecutionState: true, includeJobDocument: true });
  assert.deepEqual(upd.payload, { timestamp: T0 / 1000, executionState: { status: 'IN_PROGRESS', versionNumber: 3 }, jobDocument: { op: 'x' } });
  const described = e.reply('t', 'j/get', { includeJobDocument: false }).payload['execution'] as Record<string, unknown>;
  assert.equal(described['versionNumber'], 3);
  assert.equal('jobDocument' in described, false);
  assert.deepEqual((e.reply('t', 'j/get', {}).payload['execution'] as Record<string, unknown>)['jobDocument'], { op: 'x' });
});

// [S1, S3] expectedVersion mismatch → VersionMismatch with executionState; numeric strings accepted.
test('expectedVersion: VersionMismatch carries executionState; "1" as a string matches 1', () => {
  const e = new Engine();
  e.create('j', ['t']);
  const bad = e.reply('t', 'j/update', { status: 'IN_PROGRESS', expectedVersion: 5, clientToken: 'c' });
  assert.equal(bad.payload['code'], 'VersionMismatch');
  assert.deepEqual(bad.payload['executionState'], { status: 'QUEUED', versionNumber: 1 });
  assert.equal(e.reply('t', 'j/update', { status: 'IN_PROGRESS', expectedVersion: '1' }).outcome, 'accepted');
});

// [S5, S9] terminal states are final; [S3] SUCCEEDED → IN_PROGRESS is InvalidStateTransition.
test('terminal executions refuse updates (InvalidStateTransition, or TerminalStateReached as a setting)', () => {
  const e = new Engine();
  e.create('j', ['t']);
  e.reply('t', 'j/update', { status: 'SUCCEEDED' });
  const again = e.reply('t', 'j/update', { status: 'IN_PROGRESS' });
  assert.equal(again.payload['code'], 'InvalidStateTransition');
  assert.deepEqual(again.payload['executionState'], { status: 'SUCCEEDED', versionNumber: 2 });
  const strict = new Engine({ updateTerminalCode: 'TerminalStateReached', describeTerminal: 'TerminalStateReached' });
  strict.create('j', ['t']);
  strict.reply('t', 'j/update', { status: 'FAILED' });
  assert.equal(strict.reply('t', 'j/update', { status: 'SUCCEEDED' }).payload['code'], 'TerminalStateReached');
  assert.equal(strict.reply('t', 'j/get', {}).payload['code'], 'TerminalStateReached');
  assert.equal(e.reply('t', 'j/get', {}).outcome, 'accepted');
});

// [S17 ota.c] the service does not allow REJECTED once started; QUEUED → REJECTED is allowed [S5].
test('IN_PROGRESS → REJECTED is refused, QUEUED → REJECTED is accepted', () => {
  const e = new Engine();
  e.create('a', ['t']);
  e.create('b', ['t']);
  e.reply('t', 'start-next', {});
  assert.equal(e.reply('t', 'a/update', { status: 'REJECTED' }).payload['code'], 'InvalidStateTransition');
  assert.equal(e.reply('t', 'b/update', { status: 'REJECTED' }).outcome, 'accepted');
});

// [S7] statusDetails values 1–1024 characters matching [^\p{C}]+.
test('statusDetails over 1024 characters or with control characters are refused', () => {
  const e = new Engine();
  e.create('j', ['t']);
  assert.equal(e.reply('t', 'j/update', { status: 'IN_PROGRESS', statusDetails: { log: 'x'.repeat(1025) } }).payload['code'], 'InvalidRequest');
  assert.equal(e.reply('t', 'j/update', { status: 'IN_PROGRESS', statusDetails: { log: 'a\nb' } }).payload['code'], 'InvalidRequest');
  assert.equal(e.reply('t', 'start-next', { statusDetails: { 'bad key': 'v' } }).payload['code'], 'InvalidRequest');
  const ok = e.reply('t', 'j/update', { status: 'IN_PROGRESS', statusDetails: { log: 'x'.repeat(1024) }, includeJobExecutionState: true });
  assert.equal(ok.outcome, 'accepted');
  assert.equal((ok.payload['executionState'] as { versionNumber: number }).versionNumber, 2);
});

// [S4, S11] notify only when the pending set changes; notify-next only when the head changes.
test('events: start-next of the head sends none; a non-head started becomes head (notify-next only)', () => {
  const e = new Engine();
  assert.deepEqual(kinds(e.create('a', ['t'])), ['notify', 'notify-next']);
  assert.deepEqual(kinds(e.create('b', ['t'])), ['notify']);
  assert.deepEqual(e.reply('t', 'start-next', {}).events, []);
  assert.deepEqual(e.reply('t', 'a/update', { status: 'IN_PROGRESS', statusDetails: { p: '1' } }).events, []);
  const done = e.reply('t', 'a/update', { status: 'SUCCEEDED' });
  assert.deepEqual(kinds(done.events), ['notify', 'notify-next']);
  const other = new Engine();
  other.create('a', ['t']);
  other.create('b', ['t']);
  assert.deepEqual(kinds(other.reply('t', 'b/update', { status: 'IN_PROGRESS' }).events), ['notify-next']);
  const finished = other.send('t', 'b/update', { status: 'SUCCEEDED' });
  assert.deepEqual(kinds(finished), ['b/update/accepted', 'notify', 'notify-next']);
  other.send('t', 'a/update', { status: 'FAILED' });
  assert.deepEqual(other.reply('t', 'get', {}).payload['queuedJobs'], []);
});

// [S4, S11] empty forms: notify `{"jobs":{}}`, notify-next `{"timestamp":N}`.
test('the last pending execution ending sends jobs:{} and a notify-next without execution', () => {
  const e = new Engine();
  e.create('j', ['t']);
  const done = e.reply('t', 'j/update', { status: 'SUCCEEDED' });
  assert.deepEqual(done.events.map((m) => m.payload), [{ timestamp: T0 / 1000, jobs: {} }, { timestamp: T0 / 1000 }]);
});

// Jobs limits [S8]: requests beyond the rate are rejected with RequestThrottled.
test('a thing sending faster than the configured rate gets RequestThrottled', () => {
  const e = new Engine({ requestsPerSecondPerThing: 1, requestBurstPerThing: 2 });
  assert.equal(e.reply('t', 'get', {}).outcome, 'accepted');
  assert.equal(e.reply('t', 'get', {}).outcome, 'accepted');
  const third = e.reply('t', 'get', { clientToken: 'z' });
  assert.deepEqual([third.payload['code'], third.payload['clientToken']], ['RequestThrottled', 'z']);
  e.now += 1000;
  assert.equal(e.reply('t', 'get', {}).outcome, 'accepted');
  assert.equal(e.reply('other', 'get', {}).outcome, 'accepted');
});
