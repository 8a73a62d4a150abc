// <agentDir>/status.json: the agent's counters for `twinslot status` (its `agent` section).
// Written atomically, so a reader never sees a torn file; rewritten on a timer and on stop.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../common/errors.ts';
import { writeFileAtomic } from '../common/durable-file.ts';
import type { LinkSnapshot } from './metrics.ts';

export interface AgentStatus extends LinkSnapshot {
  pid: number;
  updatedAt: string;
  thingName: string;
  clientId: string;
  /** The job being worked on (jobs/engine.ts CurrentJob); null when idle. */
  job?: unknown;
  /** Set once a power-fail notice was handled: epoch ms of the notice. */
  powerFailAt?: number;
}

/** The status file's path under the agent's state dir. */
export function statusFilePath(agentDir: string): string {
  return join(agentDir, 'status.json');
}

/** Write the status file atomically. */
export async function writeAgentStatus(agentDir: string, status: AgentStatus): Promise<void> {
  await writeFileAtomic(statusFilePath(agentDir), `${JSON.stringify(status, null, 2)}\n`);
}

/** Read the status file; undefined when the agent never wrote one. */
export async function readAgentStatus(agentDir: string): Promise<AgentStatus | undefined> {
  try {
    return JSON.parse(await readFile(statusFilePath(agentDir), 'utf8')) as AgentStatus;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}
