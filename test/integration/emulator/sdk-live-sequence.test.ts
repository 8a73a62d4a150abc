// The SDK's own IotJobsClientv2 over Mqtt5Client against the emulator, replaying the sequence
// AWS was captured answering in aws-iot-device-sdk-js-v2's jobs sample
// (samples/node/service_clients/jobs/README.md): create Job1, create Job2, start-next, update
// SUCCEEDED, start-next, update FAILED — message by message, with the same fields.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iotjobs } from 'aws-iot-device-sdk-v2';
import { connectDevice, exitAfterCrtTests, ManualClock, startTestEmulator, waitFor } from './helpers.ts';

const T0 = 1719940994_000;
exitAfterCrtTests();

test('the jobs sample sequence gives the messages AWS sent, field for field', async (t) => {
  const clock = new ManualClock(T0);
  const em = await startTestEmulator(t, { clock });
  const device = await connectDevice(em, 'SampleThing');
  t.after(() => device.close());
  const s = (ms: number): number => Math.floor(ms / 1000);

  const empty = await device.jobs.getPendingJobExecutions({ thingName: 'SampleThing' });
  assert.deepEqual(Object.keys(empty), ['clientToken', 'timestamp', 'inProgressJobs', 'queuedJobs']);
  assert.deepEqual({ ...empty, clientToken: 'x' }, { clientToken: 'x', timestamp: s(T0), inProgressJobs: [], queuedJobs: [] });

  em.createJob({ jobId: 'Job1', targets: ['SampleThing'], document: '{"ToDo":"Reboot"}' });
  await waitFor('notify and notify-next of Job1', () => (device.notify.length >= 1 && device.notifyNext.length >= 1 ? true : undefined));
  assert.equal(JSON.stringify(device.notify[0]), `{"timestamp":${s(T0)},"jobs":{"QUEUED":[{"jobId":"Job1","queuedAt":${s(T0)},"lastUpdatedAt":${s(T0)},"executionNumber":1,"versionNumber":1}]}}`);
  assert.equal(JSON.stringify(device.notifyNext[0]), `{"timestamp":${s(T0)},"execution":{"jobId":"Job1","status":"QUEUED","queuedAt":${s(T0)},"lastUpdatedAt":${s(T0)},"versionNumber":1,"executionNumber":1,"jobDocument":{"ToDo":"Reboot"}}}`);

  clock.advance(722_000);
  const t2 = s(clock.now());
  em.createJob({ jobId: 'Job2', targets: ['SampleThing'], document: '{"ToDo":"Delete Root User"}' });
  await waitFor('notify of Job2', () => (device.notify.length >= 2 ? true : undefined));
  assert.equal(JSON.stringify(device.notify[1]), `{"timestamp":${t2},"jobs":{"QUEUED":[{"jobId":"Job1","queuedAt":${s(T0)},"lastUpdatedAt":${s(T0)},"executionNumber":1,"versionNumber":1},{"jobId":"Job2","queuedAt":${t2},"lastUpdatedAt":${t2},"executionNumber":1,"versionNumber":1}]}}`);

  clock.advance(1_672_000);
  const t3 = s(clock.now());
  const started = await device.jobs.startNextPendingJobExecution({ thingName: 'SampleThing' });
  assert.equal(JSON.stringify({ ...started, clientToken: 'x' }), `{"clientToken":"x","timestamp":${t3},"execution":{"jobId":"Job1","status":"IN_PROGRESS","queuedAt":${s(T0)},"startedAt":${t3},"lastUpdatedAt":${t3},"versionNumber":2,"executionNumber":1,"jobDocument":{"ToDo":"Reboot"}}}`);

  const pending = await device.jobs.getPendingJobExecutions({ thingName: 'SampleThing' });
  assert.equal(JSON.stringify({ ...pending, clientToken: 'x' }), `{"clientToken":"x","timestamp":${t3},"inProgressJobs":[{"jobId":"Job1","queuedAt":${s(T0)},"lastUpdatedAt":${t3},"startedAt":${t3},"executionNumber":1,"versionNumber":2}],"queuedJobs":[{"jobId":"Job2","queuedAt":${t2},"lastUpdatedAt":${t2},"executionNumber":1,"versionNumber":1}]}`);

  clock.advance(567_000);
  const t4 = s(clock.now());
  const done = await device.jobs.updateJobExecution({ thingName: 'SampleThing', jobId: 'Job1', status: iotjobs.model.JobStatus.SUCCEEDED });
  assert.equal(JSON.stringify({ ...done, clientToken: 'x' }), `{"clientToken":"x","timestamp":${t4}}`);
  await waitFor('events after Job1 succeeded', () => (device.notify.length >= 3 && device.notifyNext.length >= 2 ? true : undefined));
  assert.equal(JSON.stringify(device.notify[2]), `{"timestamp":${t4},"jobs":{"QUEUED":[{"jobId":"Job2","queuedAt":${t2},"lastUpdatedAt":${t2},"executionNumber":1,"versionNumber":1}]}}`);
  assert.equal(JSON.stringify(device.notifyNext[1]), `{"timestamp":${t4},"execution":{"jobId":"Job2","status":"QUEUED","queuedAt":${t2},"lastUpdatedAt":${t2},"versionNumber":1,"executionNumber":1,"jobDocument":{"ToDo":"Delete Root User"}}}`);

  clock.advance(3_402_000);
  const t5 = s(clock.now());
  const second = await device.jobs.startNextPendingJobExecution({ thingName: 'SampleThing' });
  assert.equal(JSON.stringify({ ...second, clientToken: 'x' }), `{"clientToken":"x","timestamp":${t5},"execution":{"jobId":"Job2","status":"IN_PROGRESS","queuedAt":${t2},"startedAt":${t5},"lastUpdatedAt":${t5},"versionNumber":2,"executionNumber":1,"jobDocument":{"ToDo":"Delete Root User"}}}`);

  clock.advance(759_000);
  const t6 = s(clock.now());
  const failed = await device.jobs.updateJobExecution({ thingName: 'SampleThing', jobId: 'Job2', status: iotjobs.model.JobStatus.FAILED });
  assert.equal(JSON.stringify({ ...failed, clientToken: 'x' }), `{"clientToken":"x","timestamp":${t6}}`);
  await waitFor('events after Job2 failed', () => (device.notify.length >= 4 && device.notifyNext.length >= 3 ? true : undefined));
  assert.equal(JSON.stringify(device.notify[3]), `{"timestamp":${t6},"jobs":{}}`);
  assert.equal(JSON.stringify(device.notifyNext[2]), `{"timestamp":${t6}}`);

  // start-next of the head sent no events: exactly the counts above.
  assert.equal(device.notify.length, 4);
  assert.equal(device.notifyNext.length, 3);
});
