// Status updates to the job execution. Only RequestThrottled / InternalError rejections are
// retried (with full-jitter backoff); a lost connection is waited out; rejections that say the
// execution is over (canceled, removed, timed out) come back as `gone`.

import { fullJitter, type BackoffPolicy } from '../../common/backoff.ts';
import type { Clock } from '../../common/clock.ts';
import { messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { goneRejection, JobsRejected, retryableRejection, type JobsApi, type UpdateRequest } from './jobs-api.ts';

export type UpdateOutcome = 'accepted' | 'gone' | 'refused' | 'gave-up';

export interface ReporterDeps {
  jobs: JobsApi;
  clock: Clock;
  log: Logger;
  backoff: BackoffPolicy;
  random?: () => number;
}

/** AWS limits: keys [a-zA-Z0-9:_-]{1,128}, values ≤ 1024 chars; control characters are dropped. */
export function sanitizeDetails(details: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(details)) {
    const k = key.replace(/[^a-zA-Z0-9:_-]/g, '_').slice(0, 128);
    // eslint-disable-next-line no-control-regex
    const v = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim();
    if (k === '' || v === '') continue;
    out[k] = v.length > 1024 ? `${v.slice(0, 1021)}...` : v;
  }
  return out;
}

/** Sends one update; retries up to `maxAttempts` (Infinity for final reports) until `signal` aborts. */
export async function sendUpdate(deps: ReporterDeps, request: UpdateRequest, maxAttempts: number, signal: AbortSignal): Promise<UpdateOutcome> {
  const req = { ...request, statusDetails: sanitizeDetails(request.statusDetails) };
  for (let attempt = 0; ; attempt += 1) {
    signal.throwIfAborted();
    try {
      await deps.jobs.update(req);
      return 'accepted';
    } catch (err) {
      if (err instanceof JobsRejected && goneRejection(err.rejection)) return 'gone';
      if (err instanceof JobsRejected && !retryableRejection(err.rejection)) {
        deps.log.error({ event: 'job-update-refused', jobId: req.jobId, status: req.status, err: messageOf(err) }, 'job update refused');
        return 'refused';
      }
      if (attempt + 1 >= maxAttempts) return 'gave-up';
      const delay = fullJitter(deps.backoff, attempt, deps.random);
      deps.log.warn({ event: 'job-update-retry', jobId: req.jobId, status: req.status, delayMs: delay, err: messageOf(err) }, 'job update will be retried');
      await deps.clock.sleep(delay, signal);
    }
  }
}
