import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequest } from '../../../ipc/validate.ts';
import { parseSupervisorConfig } from '../../../supervisor/config.ts';

test('well-formed requests parse into their typed shape', () => {
  assert.deepEqual(parseRequest({ id: 1, method: 'status' }), { id: 1, method: 'status' });
  assert.deepEqual(parseRequest({ id: 'x', method: 'activate', params: { slot: 'b', jobId: 'job-1', reboot: true } }), {
    id: 'x', method: 'activate', params: { slot: 'b', jobId: 'job-1', reboot: true },
  });
  assert.deepEqual(parseRequest({ id: 2, method: 'rollback' }), { id: 2, method: 'rollback', params: {} });
  assert.deepEqual(parseRequest({ id: 3, method: 'slot-ready', params: { slot: 'a' } }), { id: 3, method: 'slot-ready', params: { slot: 'a' } });
});

for (const raw of [null, 5, [], { method: 'status' }, { id: {}, method: 'status' }, { id: 1, method: 'nope' }, { id: 1, method: 'status', extra: 1 },
  { id: 1, method: 'activate', params: { slot: 'a' } }, { id: 1, method: 'activate', params: { slot: 'a', jobId: 'x'.repeat(65) } },
  { id: 1, method: 'activate', params: { slot: 'a', jobId: 'j', reboot: 1 } }, { id: 1, method: 'slot-ready', params: { slot: 'A' } },
  { id: 1, method: 'subscribe', params: [] }]) {
  test(`refused with BAD_REQUEST: ${JSON.stringify(raw)}`, () => {
    assert.throws(() => parseRequest(raw), { code: 'BAD_REQUEST' });
  });
}

test('config: defaults, and a wrong type is CONFIG_INVALID', () => {
  const s = parseSupervisorConfig({ device: { thingName: 't' } });
  assert.equal(s.watchdog.device, '/dev/watchdog');
  assert.equal(s.trial.attempts, 3);
  assert.deepEqual(s.rebootCommand, ['systemctl', 'reboot']);
  assert.equal(s.metricsPort, null);
  assert.throws(() => parseSupervisorConfig({ supervisor: { trial: { attempts: 0 } } }), { code: 'CONFIG_INVALID' });
  assert.throws(() => parseSupervisorConfig({ supervisor: { rebootCommand: 'reboot' } }), { code: 'CONFIG_INVALID' });
  assert.throws(() => parseSupervisorConfig({ supervisor: { metricsPort: 70000 } }), { code: 'CONFIG_INVALID' });
});
