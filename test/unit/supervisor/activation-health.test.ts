// Health settings per activation: validated at the IPC edge like a manifest override, merged as
// device < manifest < activation, and persisted with the trial (state.json round trip). Also the
// `reboot` request's validation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequest } from '../../../ipc/validate.ts';
import { mergeHealthSpec } from '../../../supervisor/health/spec.ts';
import { parseHealthSpec } from '../../../common/health-spec.ts';
import { transition } from '../../../supervisor/trial/machine.ts';
import { initialState, parseState, type SystemState } from '../../../slots/state.ts';
import { allowedActivationHealth } from '../../../supervisor/requests.ts';

test('activate carries a validated health object', () => {
  const health = { probationSeconds: 5, http: { url: 'http://127.0.0.1:9/h', failureThreshold: 2 } };
  assert.deepEqual(parseRequest({ id: 1, method: 'activate', params: { slot: 'b', jobId: 'j-1', health } }), {
    id: 1, method: 'activate', params: { slot: 'b', jobId: 'j-1', health },
  });
});

for (const [health, message] of [
  [{ probationSeconds: '30' }, /activate: health\.probationSeconds: must be a number/],
  [{ http: { url: 'ftp://x' } }, /activate: health\.http\.url: must be an http/],
  [{ probe: {} }, /activate: health\.probe: unknown key/],
  [[], /activate: health: must be an object/],
  // A command probe from a job document ran as root on every targeted device.
  [{ command: { argv: ['sh', '-c', 'id'] } }, /activate: health\.command: a command probe comes only from the device config or the signed manifest/],
] as const) {
  test(`activate with bad health is BAD_REQUEST: ${JSON.stringify(health)}`, () => {
    assert.throws(() => parseRequest({ id: 1, method: 'activate', params: { slot: 'b', jobId: 'j', health } }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'BAD_REQUEST');
      assert.match(err.message, message);
      return true;
    });
  });
}

test('reboot takes an optional jobId and nothing else', () => {
  assert.deepEqual(parseRequest({ id: 1, method: 'reboot' }), { id: 1, method: 'reboot', params: {} });
  assert.deepEqual(parseRequest({ id: 2, method: 'reboot', params: { jobId: 'j-9' } }), { id: 2, method: 'reboot', params: { jobId: 'j-9' } });
  assert.throws(() => parseRequest({ id: 3, method: 'reboot', params: { now: true } }), { code: 'BAD_REQUEST', message: /reboot: unknown field now/ });
  assert.throws(() => parseRequest({ id: 4, method: 'reboot', params: { jobId: 'a b' } }), { code: 'BAD_REQUEST' });
});

test('device < manifest < activation, field by field', () => {
  const device = { startTimeoutSeconds: 30, probationSeconds: 20, http: { url: 'http://127.0.0.1/d', intervalMs: 500 } };
  const bundle = { probationSeconds: 90, http: { url: 'http://127.0.0.1/b', timeoutMs: 250 } };
  const activation = { probationSeconds: 7, http: { url: 'http://127.0.0.1/b', failureThreshold: 9 } };
  const spec = mergeHealthSpec(device, bundle, activation);
  assert.equal(spec.startTimeoutSeconds, 30);
  assert.equal(spec.probationSeconds, 7);
  assert.deepEqual(spec.http, { url: 'http://127.0.0.1/b', intervalMs: 500, timeoutMs: 250, failureThreshold: 9 });
  assert.deepEqual(mergeHealthSpec(device, bundle), mergeHealthSpec(device, bundle, undefined));
});

function readyB(): SystemState {
  const s = initialState('a');
  return { ...s, slots: { ...s.slots, b: { status: 'ready', version: '2.0.0', manifestSha256: 'x' } } };
}

test('the activation\'s health is persisted with the trial and read back', () => {
  const health = { probationSeconds: 3, http: { url: 'http://127.0.0.1:8080/ok' } };
  const d = transition(readyB(), { type: 'activate', slot: 'b', jobId: 'j', reboot: false, attempts: 2, bootId: 'b1', now: 1, health });
  assert.deepEqual(d.state.trial?.health, health);
  const back = parseState(JSON.stringify(d.state));
  assert.deepEqual(back.trial?.health, health);
  const damaged = JSON.stringify({ ...d.state, trial: { ...d.state.trial, health: { probationSeconds: -1 } } });
  assert.throws(() => parseState(damaged), { code: 'STATE_INVALID', message: /trial\.health\.probationSeconds/ });
});

test('a manifest override is refused with the given code and path', () => {
  assert.throws(() => parseHealthSpec({ notify: { watchdogSec: 0 } }, 'slot b manifest.health', 'HEALTH_SPEC_INVALID'), {
    code: 'HEALTH_SPEC_INVALID', message: /^slot b manifest\.health\.notify\.watchdogSec: must be a number/,
  });
  assert.deepEqual(parseHealthSpec({ notify: {} }, 'h', 'X'), { notify: {} });
});

test('a job\'s HTTP probe may target only a loopback port the device lists', () => {
  const http = (url: string): { http: { url: string } } => ({ http: { url } });
  assert.deepEqual(allowedActivationHealth(http('http://127.0.0.1:8080/h'), [8080]), http('http://127.0.0.1:8080/h'));
  assert.deepEqual(allowedActivationHealth(http('http://[::1]:8080/h'), [8080]), http('http://[::1]:8080/h'));
  assert.deepEqual(allowedActivationHealth({ probationSeconds: 9 }, []), { probationSeconds: 9 });
  for (const [url, ports, message] of [
    ['http://127.0.0.1:8080/h', [], /port 8080; none are/],
    ['http://127.0.0.1:22/h', [8080], /port 22; allowed: 8080/],
    ['http://127.0.0.1/h', [8080], /port 80;/],
    ['http://169.254.169.254:8080/latest/meta-data', [8080], /loopback/],
    ['http://example.com:8080/h', [8080], /loopback/],
    ['http://user:pw@127.0.0.1:8080/h', [8080], /loopback/],
  ] as const) {
    assert.throws(() => allowedActivationHealth(http(url), ports), { code: 'HEALTH_NOT_ALLOWED', message }, url);
  }
  assert.throws(() => allowedActivationHealth({ command: { argv: ['id'] } }, [8080]), { code: 'HEALTH_NOT_ALLOWED' });
});
