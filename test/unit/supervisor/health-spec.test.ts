// mergeHealthSpec: device defaults, bundle overrides field by field, documented fallbacks.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { HEALTH_DEFAULTS, mergeHealthSpec } from '../../../supervisor/health/index.ts';

describe('mergeHealthSpec', () => {
  it('fills every timing from the documented defaults', () => {
    const spec = mergeHealthSpec({ http: { url: 'http://127.0.0.1:8080/health' } }, undefined);
    assert.deepEqual(spec, {
      startTimeoutSeconds: HEALTH_DEFAULTS.startTimeoutSeconds,
      probationSeconds: HEALTH_DEFAULTS.probationSeconds,
      http: { url: 'http://127.0.0.1:8080/health', intervalMs: 2_000, timeoutMs: 1_000, failureThreshold: 3 },
    });
  });

  it('lets the bundle override the device per field, keeping the device value elsewhere', () => {
    const device = { startTimeoutSeconds: 30, probationSeconds: 20, http: { url: 'http://127.0.0.1/a', intervalMs: 500, failureThreshold: 5 } };
    const bundle = { probationSeconds: 90, http: { url: 'http://127.0.0.1/b', timeoutMs: 250 } };
    const spec = mergeHealthSpec(device, bundle);
    assert.equal(spec.startTimeoutSeconds, 30);
    assert.equal(spec.probationSeconds, 90);
    assert.deepEqual(spec.http, { url: 'http://127.0.0.1/b', intervalMs: 500, timeoutMs: 250, failureThreshold: 5 });
  });

  it('adds the probes only one side names, and merges notify settings', () => {
    const spec = mergeHealthSpec({ notify: { watchdogSec: 10 } }, { command: { argv: ['./check'] }, notify: { watchdogSec: 3 } });
    assert.deepEqual(spec.command, { argv: ['./check'], intervalMs: 2_000, timeoutMs: 1_000, failureThreshold: 3 });
    assert.deepEqual(spec.notify, { watchdogSec: 3 });
    assert.equal(spec.http, undefined);
    assert.equal(mergeHealthSpec({}, {}).notify, undefined);
  });
});
