// What the trial machine asks the executor to do, in order. Decisions are pure (machine.ts,
// resume.ts); supervisor/trial/executor.ts performs these one after the other.

import type { SlotName } from '../../slots/paths.ts';
import type { SystemState } from '../../slots/state.ts';
import { beginRollback, finishRollback } from '../../slots/transitions.ts';
import type { SupervisorEvent } from '../../ipc/protocol.ts';

export type Effect =
  /** Write this state durably before any later effect runs. */
  | { type: 'persist'; state: SystemState }
  | { type: 'flip-current'; slot: SlotName }
  | { type: 'clear-current' }
  /** Start the app from `current` (stopping whatever ran) and watch its health. */
  | { type: 'start-app'; slot: SlotName }
  | { type: 'stop-app' }
  /** An app left running by an earlier supervisor of this boot is stopped. */
  | { type: 'kill-orphan' }
  | { type: 'reboot' }
  | { type: 'emit'; event: SupervisorEvent }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; event: string; fields: Record<string, unknown> };

export interface Decision {
  state: SystemState;
  effects: Effect[];
}

/**
 * The way back from a failed trial: persist the verdict, stop the trial app, point `current` at
 * the committed slot, persist the end of the trial, start the committed app, tell the agent.
 */
export function rollbackEffects(state: SystemState, code: string, reason: string, now: number): Decision {
  const verdict = beginRollback(state, code, reason);
  const trial = verdict.trial;
  if (!trial) return { state, effects: [] };
  const done = finishRollback(verdict, now);
  const back = verdict.committed;
  const effects: Effect[] = [
    { type: 'persist', state: verdict },
    { type: 'stop-app' },
    back ? { type: 'flip-current', slot: back } : { type: 'clear-current' },
    { type: 'persist', state: done },
  ];
  if (back) effects.push({ type: 'start-app', slot: back });
  const failure = trial.failure ?? { code, reason };
  effects.push(
    { type: 'log', level: 'warn', event: 'rolled-back', fields: { slot: trial.slot, version: trial.version, jobId: trial.jobId, ...failure } },
    { type: 'emit', event: { type: 'rolled-back', slot: trial.slot, version: trial.version, jobId: trial.jobId, code: failure.code, reason: failure.reason, committed: back } },
  );
  return { state: done, effects };
}
