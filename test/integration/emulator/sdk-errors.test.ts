// The SDK's IotJobsClientv2 correlates rejections by clientToken [S12]: a rejected request must
// reach the caller as a ServiceError whose modeledError is AWS's ErrorResponse [S3].

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iotjobs } from 'aws-iot-device-sdk-v2';
import { connectDevice, exitAfterCrtTests, startTestEmulator } from './helpers.ts';

exitAfterCrtTests();

test('rejections reach the SDK caller with code and executionState (VersionMismatch, ResourceNotFound)', { timeout: 120_000 }, async (t) => {
  const em = await startTestEmulator(t);
  const device = await connectDevice(em, 'err-thing');
  t.after(() => device.close());
  em.createJob({ jobId: 'j', targets: ['err-thing'], document: '{"a":1}' });
  const modeled = async (p: Promise<unknown>): Promise<Record<string, unknown>> => {
    const err = await p.then(() => undefined, (e: unknown) => e as { modeledError?: Record<string, unknown> });
    assert.ok(err?.modeledError, 'the request was rejected with a modeled error');
    return err.modeledError;
  };
  const mismatch = await modeled(device.jobs.updateJobExecution({ thingName: 'err-thing', jobId: 'j', status: iotjobs.model.JobStatus.IN_PROGRESS, expectedVersion: 7 }));
  assert.equal(mismatch['code'], 'VersionMismatch');
  assert.deepEqual(mismatch['executionState'], { status: 'QUEUED', versionNumber: 1 });
  const missing = await modeled(device.jobs.describeJobExecution({ thingName: 'err-thing', jobId: 'nope' }));
  assert.equal(missing['code'], 'ResourceNotFound');
  const described = await device.jobs.describeJobExecution({ thingName: 'err-thing', jobId: 'j' });
  assert.deepEqual(described.execution?.jobDocument, { a: 1 });
});
