// What the agent needs from the supervisor, as a port over its IPC (supervisor/ipc). main.ts
// adapts the supervisor's typed client to it; tests of the pure parts need nothing else.

import type { HealthSpec } from '../../bundle/manifest-types.ts';
import type { SlotName } from '../../slots/paths.ts';
import type { Results, StatusReport, SupervisorEvent } from '../../ipc/protocol.ts';

export type { StatusReport, SupervisorEvent };

export interface SupervisorPort {
  status(): Promise<StatusReport>;
  /** Empties the inactive slot and marks it `installing`. */
  prepareSlot(): Promise<Results['prepare-slot']>;
  slotReady(slot: SlotName): Promise<Results['slot-ready']>;
  /** `health` overrides the device's health settings for this trial (from the job document). */
  activate(slot: SlotName, jobId: string, reboot: boolean, health?: HealthSpec): Promise<Results['activate']>;
  rollback(jobId: string): Promise<Results['rollback']>;
  restartApp(): Promise<Results['restart-app']>;
  /** The supervisor (root) stops the app in order and runs its reboot command; answers once it ran. */
  reboot(jobId: string): Promise<Results['reboot']>;
  /** Trial outcomes and other events; returns the unsubscribe function. */
  onEvent(listener: (event: SupervisorEvent) => void): () => void;
}

export type TrialVerdict =
  | { kind: 'committed'; slot: SlotName; version: string }
  | { kind: 'rolled-back'; version: string; code: string; reason: string }
  | { kind: 'pending' };

/** The outcome of job `jobId`'s trial as the supervisor's status tells it (after a restart). */
export function verdictFromStatus(status: StatusReport, jobId: string): TrialVerdict {
  if (status.trial !== null && status.trial.jobId === jobId) return { kind: 'pending' };
  const last = status.lastOutcome;
  if (last !== null && last.jobId === jobId) {
    return last.kind === 'committed'
      ? { kind: 'committed', slot: last.slot, version: last.version }
      : { kind: 'rolled-back', version: last.version, code: last.code, reason: last.reason };
  }
  return { kind: 'pending' };
}

/** The outcome carried by one supervisor event, when it is about job `jobId`. */
export function verdictFromEvent(event: SupervisorEvent, jobId: string): TrialVerdict {
  if (event.type === 'committed' && event.jobId === jobId) return { kind: 'committed', slot: event.slot, version: event.version };
  if (event.type === 'rolled-back' && event.jobId === jobId) return { kind: 'rolled-back', version: event.version, code: event.code, reason: event.reason };
  return { kind: 'pending' };
}

/** The committed, running version, or null on a device with nothing committed. */
export function committedVersion(status: StatusReport): string | null {
  if (status.committed === null) return null;
  const slot = status.slots[status.committed];
  return slot.status === 'ready' ? slot.version : null;
}
