// A record of the running app instance — its process group and its containment (the cgroup it
// runs in, or the uid swept for it) — kept in the run directory with the boot it belongs to, so
// that a supervisor restarted in the same boot stops what its predecessor left running, escaped
// processes included. A record from another boot means nothing and is ignored.

import { readFileSync } from 'node:fs';
import type { Clock } from '../common/clock.ts';
import { writeFileAtomicSync } from '../common/durable-file.ts';
import type { Logger } from '../common/log.ts';
import type { DevicePaths } from '../slots/paths.ts';
import { boxFromRecord } from './runner/instance-box.ts';
import type { InstanceRecord } from './runner/launch.ts';
import { liveGroupMembers, terminateGroup } from './runner/process-group.ts';

/** Notes that `instance` runs the app in boot `bootId`; written before the app execs. */
export function recordApp(paths: DevicePaths, bootId: string, instance: InstanceRecord): void {
  writeFileAtomicSync(paths.appRecord, JSON.stringify({ pgid: instance.pgid, bootId, containment: instance.containment }));
}

/**
 * Stops what the record names when it is from this boot and something of it still lives: the
 * group, and the recorded cgroup (then removed) or uid. A record without a containment (an older
 * supervisor's) stops the group alone.
 */
export async function killOrphan(paths: DevicePaths, bootId: string, clock: Clock, logger: Logger, stopTimeoutMs: number): Promise<boolean> {
  let record: unknown;
  try {
    record = JSON.parse(readFileSync(paths.appRecord, 'utf8'));
  } catch {
    return false;
  }
  if (typeof record !== 'object' || record === null || !('pgid' in record) || !('bootId' in record)) return false;
  const { pgid } = record;
  if (record.bootId !== bootId || typeof pgid !== 'number' || !Number.isInteger(pgid) || pgid <= 1) return false;
  const box = boxFromRecord('containment' in record ? record.containment : null);
  if (liveGroupMembers(pgid).length === 0 && box.rest.empty()) {
    box.dispose();
    return false;
  }
  logger.warn({ event: 'orphan-app-stopped', pgid, containment: box.record }, 'stopping the app left by an earlier supervisor of this boot');
  const outcome = await terminateGroup(clock, pgid, () => true, stopTimeoutMs, box.rest);
  if (!outcome.contained) logger.error({ event: 'app-not-contained', pgid, containment: box.record }, 'processes of the orphan app outlived SIGKILL');
  else box.dispose();
  return true;
}
