// The CLI as a user runs it: `twinslot emulator start` in the background, `twinslot job ...`
// with the AWS CLI's flags and output names, `emulator status`, `emulator stop`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'twinslot.js');
const run = (args: string[]) => execa(process.execPath, [BIN, ...args], { reject: false });

test('emulator start/status/stop and job create/describe/list-executions/cancel/delete', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-emulator-cli-'));
  t.after(async () => {
    await run(['emulator', 'stop', '--dir', dir]);
    await rm(dir, { recursive: true, force: true });
  });
  const started = await run(['emulator', 'start', '--dir', dir, '--json']);
  assert.equal(started.exitCode, 0, started.stderr);
  const info = JSON.parse(started.stdout) as { endpoint: string; port: number; caPath: string };
  assert.equal(info.endpoint, '127.0.0.1');
  assert.match(info.caPath, /ca\.crt$/);
  assert.equal((await run(['emulator', 'status', '--dir', dir])).exitCode, 0);

  const thing = JSON.parse((await run(['emulator', 'thing', 'create', 'dev-1', '--dir', dir])).stdout) as { config: { agent: { connection: { endpoints: string[] } } } };
  assert.deepEqual(thing.config.agent.connection.endpoints, [`127.0.0.1:${info.port}`]);

  await writeFile(join(dir, 'doc.json'), '{"operation":"report"}');
  const created = await run(['job', 'create', '--dir', dir, '--job-id', 'j1', '--targets', 'dev-1,arn:aws:iot:eu-west-1:123456789012:thing/dev-2',
    '--document', `file://${join(dir, 'doc.json')}`, '--timeout-config', '{"inProgressTimeoutInMinutes":30}']);
  assert.equal(created.exitCode, 0, created.stderr);
  assert.deepEqual(JSON.parse(created.stdout), { jobArn: 'arn:aws:iot:us-east-1:123456789012:job/j1', jobId: 'j1' });
  const listed = JSON.parse((await run(['job', 'list-executions', '--dir', dir, '--job-id', 'j1'])).stdout) as { executionSummaries: { thingArn: string; jobExecutionSummary: { status: string } }[] };
  assert.deepEqual(listed.executionSummaries.map((e) => [e.thingArn.split('/')[1], e.jobExecutionSummary.status]), [['dev-1', 'QUEUED'], ['dev-2', 'QUEUED']]);

  const refused = await run(['job', 'delete', '--dir', dir, '--job-id', 'nope']);
  assert.equal(refused.exitCode, 254);
  assert.match(refused.stderr, /An error occurred \(ResourceNotFoundException\) when calling the DeleteJob operation/);
  assert.equal((await run(['job', 'cancel', '--dir', dir, '--job-id', 'j1'])).exitCode, 0);
  const described = JSON.parse((await run(['job', 'describe-execution', '--dir', dir, '--job-id', 'j1', '--thing-name', 'dev-1'])).stdout) as { execution: { status: string } };
  assert.equal(described.execution.status, 'CANCELED');

  assert.equal((await run(['emulator', 'stop', '--dir', dir])).exitCode, 0);
  assert.equal((await run(['emulator', 'status', '--dir', dir])).exitCode, 3);
});
