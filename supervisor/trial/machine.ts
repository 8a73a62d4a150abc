// The trial machine while the supervisor runs: activate, revert, and the health verdicts that end
// a trial in commit or rollback. Pure: `transition(state, event) → {state, effects}`.
//
// INVARIANTS (DESIGN.md 3, 5, 6)
// - activate persists the trial, with its first attempt counted, before `current` flips and
//   before the trial slot starts.
// - Commit only when the slot running is the trial slot and it stayed healthy, without a break,
//   from `since` for the whole probation.
// - Any failure verdict during a trial (health timeout included) rolls back; none is ignored.

import { CodedError } from '../../common/errors.ts';
import type { SlotName } from '../../slots/paths.ts';
import type { HealthSpec } from '../../bundle/manifest-types.ts';
import type { SystemState } from '../../slots/state.ts';
import { beginTrial, commit, type BeginTrial } from '../../slots/transitions.ts';
import { rollbackEffects, type Decision, type Effect } from './effects.ts';

export type TrialEvent =
  | { type: 'activate'; slot: SlotName; jobId: string; reboot: boolean; attempts: number; bootId: string; now: number; health?: HealthSpec }
  | { type: 'revert'; jobId: string; attempts: number; bootId: string; now: number }
  /** The probation timer armed at the healthy verdict `armedSince` ran out. */
  | { type: 'probation-elapsed'; armedSince: number; healthySince: number | null; running: SlotName | null; now: number }
  /** An unhealthy verdict, an exit or a crash loop of the app started from `running`. */
  | { type: 'failed'; code: string; reason: string; running: SlotName | null; now: number };

/** Applies one event; throws a CodedError (and changes nothing) when the event is not allowed now. */
export function transition(state: SystemState, event: TrialEvent): Decision {
  switch (event.type) {
    case 'activate':
      return activate(state, event.slot, event.jobId, 'update', event);
    case 'revert': {
      const prev = state.previous;
      if (!prev || state.slots[prev].status !== 'ready') {
        throw new CodedError('NO_PREVIOUS_VERSION', 'there is no previous committed version to return to');
      }
      return activate(state, prev, event.jobId, 'revert', { ...event, reboot: false });
    }
    case 'probation-elapsed':
      return probationElapsed(state, event);
    case 'failed': {
      const trial = state.trial;
      // Failures of the committed app are the runner's business (backoff), never a rollback.
      if (!trial || trial.phase !== 'running' || event.running !== trial.slot) return { state, effects: [] };
      return rollbackEffects(state, event.code, event.reason, event.now);
    }
  }
}

function activate(
  state: SystemState, slot: SlotName, jobId: string, kind: 'update' | 'revert',
  e: { reboot: boolean; attempts: number; bootId: string; now: number; health?: HealthSpec },
): Decision {
  const begin: BeginTrial = { slot, jobId, kind, attempts: e.attempts, bootId: e.bootId, now: e.now, reboot: e.reboot };
  if (e.health !== undefined) begin.health = e.health;
  const next = beginTrial(state, begin);
  const trial = next.trial;
  if (!trial) throw new Error('beginTrial returned no trial');
  const started: Effect = {
    type: 'emit',
    event: { type: 'trial-started', slot, version: trial.version, jobId, kind, attemptsLeft: trial.attemptsLeft, reboot: e.reboot },
  };
  const effects: Effect[] = [{ type: 'persist', state: next }, { type: 'flip-current', slot }];
  if (e.reboot) effects.push(started, { type: 'stop-app' }, { type: 'reboot' });
  else effects.push({ type: 'start-app', slot }, started);
  return { state: next, effects };
}

function probationElapsed(state: SystemState, e: Extract<TrialEvent, { type: 'probation-elapsed' }>): Decision {
  const trial = state.trial;
  if (!trial || trial.phase !== 'running') return { state, effects: [] };
  if (e.running !== trial.slot) {
    return rollbackEffects(state, 'TRIAL_SLOT_NOT_RUNNING', `slot ${trial.slot} is in trial but ${e.running ?? 'nothing'} runs`, e.now);
  }
  // A break in health re-arms the timer from the new `since`; this stale timer does nothing.
  if (e.healthySince === null || e.healthySince !== e.armedSince) return { state, effects: [] };
  const done = commit(state, e.now);
  return {
    state: done,
    effects: [
      { type: 'persist', state: done },
      { type: 'log', level: 'info', event: 'committed', fields: { slot: trial.slot, version: trial.version, jobId: trial.jobId } },
      { type: 'emit', event: { type: 'committed', slot: trial.slot, version: trial.version, jobId: trial.jobId, kind: trial.kind } },
    ],
  };
}
