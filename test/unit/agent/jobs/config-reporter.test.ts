import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJobsSections } from '../../../../agent/jobs/config.ts';
import { sanitizeDetails, sendUpdate } from '../../../../agent/jobs/reporter.ts';
import { JobsRejected, JobsUnavailable, type JobsApi, type UpdateRequest } from '../../../../agent/jobs/jobs-api.ts';
import { silentLogger } from '../../../../common/log.ts';
import type { Clock } from '../../../../common/clock.ts';

test('config: defaults, overrides, and unknown keys refused with the path', () => {
  const c = parseJobsSections({ device: { thingName: 't', deviceType: 'rpi4' }, agent: { jobs: { stepTimeouts: { downloadMinutes: 5 } }, update: { allowHttp: true } } });
  assert.equal(c.deviceType, 'rpi4');
  assert.equal(c.jobs.stepTimeouts.downloadMinutes, 5);
  assert.equal(c.jobs.stepTimeouts.trialMinutes, 30);
  assert.equal(c.update.allowHttp, true);
  assert.deepEqual(c.deprecated, []);
  // A reboot job goes through the supervisor: the agent's old reboot command is accepted, ignored and reported.
  const old = parseJobsSections({ device: {}, agent: { update: { rebootCommand: ['systemctl', 'reboot'] } } });
  assert.deepEqual(old.deprecated, ['agent.update.rebootCommand']);
  assert.equal('rebootCommand' in old.update, false);
  assert.throws(() => parseJobsSections({ device: {}, agent: { update: { alowHttp: true } } }), /agent\.update\.alowHttp: unknown key/);
  assert.throws(() => parseJobsSections({ device: {}, agent: { jobs: { stepTimeouts: { downloadMinutes: 0 } } } }), /downloadMinutes/);
});

test('statusDetails: values cut to 1024 chars, control characters removed, keys made valid', () => {
  const out = sanitizeDetails({ message: `a\u0000b\nc${'x'.repeat(2000)}`, 'bad key!': 'v', empty: '' });
  assert.equal(out['message']?.length, 1024);
  assert.match(out['message'] ?? '', /^a b c/);
  assert.equal(out['bad_key_'], 'v');
  assert.equal('empty' in out, false);
});

function api(answers: Array<Error | null>, calls: UpdateRequest[]): JobsApi {
  return {
    update: (r) => {
      calls.push(r);
      const next = answers.shift();
      return next ? Promise.reject(next) : Promise.resolve();
    },
    startNext: () => Promise.resolve(null), describe: () => Promise.resolve(null),
    onNextChanged: () => () => undefined, onPendingChanged: () => () => undefined, onResync: () => () => undefined,
  };
}
const instant: Clock = { now: () => 0, monotonic: () => 0, sleep: () => Promise.resolve() };
const req: UpdateRequest = { jobId: 'j', executionNumber: 1, status: 'SUCCEEDED', statusDetails: { reason: 'X' } };

test('only RequestThrottled / InternalError (and an offline link) are retried', async () => {
  const calls: UpdateRequest[] = [];
  const deps = { jobs: api([new JobsRejected('RequestThrottled', ''), new JobsUnavailable('offline'), new JobsRejected('InternalError', ''), null], calls), clock: instant, log: silentLogger(), backoff: { baseMs: 1, maxMs: 1 } };
  assert.equal(await sendUpdate(deps, req, Infinity, new AbortController().signal), 'accepted');
  assert.equal(calls.length, 4);

  const once: UpdateRequest[] = [];
  const refused = { ...deps, jobs: api([new JobsRejected('InvalidRequest', 'bad'), null], once) };
  assert.equal(await sendUpdate(refused, req, Infinity, new AbortController().signal), 'refused');
  assert.equal(once.length, 1);

  const gone = { ...deps, jobs: api([new JobsRejected('InvalidStateTransition', 'terminal')], []) };
  assert.equal(await sendUpdate(gone, req, Infinity, new AbortController().signal), 'gone');

  const capped = { ...deps, jobs: api([new JobsUnavailable('x'), new JobsUnavailable('x'), new JobsUnavailable('x')], []) };
  assert.equal(await sendUpdate(capped, req, 2, new AbortController().signal), 'gave-up');
});
