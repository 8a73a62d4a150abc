// A record of the app process group, kept in the run directory with the boot it belongs to, so
// that a supervisor restarted in the same boot stops the app its predecessor left running.
// A pid from another boot means nothing and is ignored.

import { readFileSync } from 'node:fs';
import type { Clock } from '../common/clock.ts';
import { writeFileAtomicSync } from '../common/durable-file.ts';
import type { Logger } from '../common/log.ts';
import type { DevicePaths } from '../slots/paths.ts';
import { liveGroupMembers, terminateGroup } from './runner/process-group.ts';

/** Notes that process group `pgid` runs the app in boot `bootId`. */
export function recordApp(paths: DevicePaths, pgid: number, bootId: string): void {
  writeFileAtomicSync(paths.appRecord, JSON.stringify({ pgid, bootId }));
}

/** Stops the group named in the record when it is from this boot and still has live members. */
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
  if (liveGroupMembers(pgid).length === 0) return false;
  logger.warn({ event: 'orphan-app-stopped', pgid }, 'stopping the app left by an earlier supervisor of this boot');
  await terminateGroup(clock, pgid, () => true, stopTimeoutMs);
  return true;
}
