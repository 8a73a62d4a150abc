// What the agent does when the supervisor relays a power-fail notice (`twinslot power-fail`,
// e.g. from NUT's upsmon NOTIFYCMD): a last retained status through the durable outbox, no new
// work, the running job interrupted where its phase was saved, a marker on disk. At the next
// start, or on a power-restored notice (`twinslot power-restored`: mains back, no shutdown), the
// marker makes the agent queue a fresh `online` status behind the power-fail one, so a
// power-fail status delivered late (link down at the time) is not the last retained word; after
// power-restored a new jobs engine resumes the interrupted job from its saved phase (agent/main.ts).
//
// INVARIANTS
// - The power-fail status is on disk (outbox, synchronous=FULL) before anything else happens:
//   it is delivered even if the link is down now and only returns after the power does.
// - The running job is interrupted exactly as on SIGTERM: its persisted phase stays, and the
//   restart table (jobs/phases.ts) continues it at the next start. Nothing is rolled back here.

import { rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../common/durable-file.ts';
import { messageOf } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import { encodeStatus, statusTopic, type OnlineStatus } from './connection/topics.ts';
import type { DeviceEvents, OutboxPort } from './device-events.ts';
import type { CurrentJob } from './jobs/engine.ts';

export interface PowerFailDeps {
  events: Pick<DeviceEvents, 'powerFail'>;
  engine: { stop(): Promise<void>; job(): CurrentJob | null };
  agentDir: string;
  log: Logger;
  /** Rewrites the status file (it then shows `powerFail`). */
  writeStatus(): Promise<void>;
}

/** The marker left by a power-fail notice, read at the next start. */
export function powerFailMarker(agentDir: string): string {
  return join(agentDir, 'power-fail.json');
}

/** Handles one power-fail notice; `at` is the supervisor's time of it. */
export async function handlePowerFail(at: number, deps: PowerFailDeps): Promise<void> {
  const job = deps.engine.job();
  const jobRef = job === null ? null : { jobId: job.jobId, executionNumber: job.executionNumber, phase: job.phase };
  try {
    const messageId = deps.events.powerFail(at, jobRef);
    writeFileAtomicSync(powerFailMarker(deps.agentDir), `${JSON.stringify({ at, messageId })}\n`, 0o600);
    deps.log.warn({ event: 'power-fail-status-queued', messageId, job: jobRef }, 'power failing: last status queued');
  } catch (err) {
    deps.log.error({ event: 'power-fail-status-failed', err: messageOf(err) }, 'power-fail status not queued');
  }
  await deps.engine.stop();
  deps.log.warn({ event: 'jobs-stopped', why: 'power-fail', job: jobRef }, 'no new work until power-restored or the next start');
  await deps.writeStatus();
}

/** At start or on power-restored: after a power-fail, queue `online` behind the power-fail status and clear the marker. */
export function announcePowerRestored(agentDir: string, outbox: OutboxPort, status: Omit<OnlineStatus, 'state' | 'rejoinedSession'>, log: Logger): void {
  const marker = powerFailMarker(agentDir);
  if (!existsSync(marker)) return;
  const online: OnlineStatus = { state: 'online', ...status, rejoinedSession: false };
  const messageId = outbox.publish(statusTopic(status.thingName), encodeStatus(online), { retain: true });
  rmSync(marker, { force: true });
  log.info({ event: 'power-restored', messageId }, 'back after a power-fail notice: online status queued');
}
