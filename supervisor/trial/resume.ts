// What the supervisor does at startup, decided from the persisted state alone (Mender's
// LoadStateFromDb is the model). Pure.
//
// Each persisted phase → one action on restart:
//
// | persisted                  | condition                      | action                                                      |
// |----------------------------|--------------------------------|-------------------------------------------------------------|
// | no trial, committed X      | —                              | point `current` at X, start X                               |
// | no trial, nothing committed| —                              | remove `current`, run nothing, wait for an activate         |
// | trial, any phase           | resumes ≥ loopLimit            | rollback, STATE_LOOP (loop guard)                           |
// | trial `reboot-pending`     | boot_id changed                | the asked-for reboot happened: phase `running`, start T     |
// |                            | same boot_id                   | the reboot did not happen: ask for it again                 |
// | trial `running`            | attempts left, boot_id changed | reboot/power cut/watchdog reset mid-trial: count, start T   |
// |                            | attempts left, same boot_id    | supervisor restarted mid-trial: stop orphan, count, start T |
// |                            | no attempts left               | rollback, TRIAL_ATTEMPTS_EXHAUSTED                          |
// | trial `rolling-back`       | —                              | finish the rollback: `current` → committed, start it        |
//
// Every row that keeps a trial persists the state (resumes + 1, and the counted attempt) before
// anything starts.

import type { SystemState } from '../../slots/state.ts';
import { nextAttempt } from '../../slots/transitions.ts';
import { rollbackEffects, type Decision, type Effect } from './effects.ts';

export interface ResumeContext {
  bootId: string;
  now: number;
  /** Startups that may find the same trial before the loop guard rolls it back. */
  loopLimit: number;
}

/** The startup decision for the persisted `state`. */
export function resume(state: SystemState, ctx: ResumeContext): Decision {
  const orphan: Effect = { type: 'kill-orphan' };
  const trial = state.trial;
  if (!trial) {
    if (!state.committed) return { state, effects: [orphan, { type: 'clear-current' }] };
    return { state, effects: [orphan, { type: 'flip-current', slot: state.committed }, { type: 'start-app', slot: state.committed }] };
  }
  const sameBoot = trial.bootId === ctx.bootId;
  const log = (event: string, fields: Record<string, unknown> = {}): Effect => ({
    type: 'log', level: 'warn', event, fields: { slot: trial.slot, jobId: trial.jobId, phase: trial.phase, sameBoot, attemptsLeft: trial.attemptsLeft, ...fields },
  });
  if (trial.phase === 'rolling-back') {
    const failure = trial.failure ?? { code: 'ROLLBACK_INTERRUPTED', reason: 'rollback interrupted' };
    const d = rollbackEffects(state, failure.code, failure.reason, ctx.now);
    return { state: d.state, effects: [orphan, log('resume-rollback'), ...d.effects] };
  }
  if (trial.resumes + 1 >= ctx.loopLimit) {
    const d = rollbackEffects(state, 'STATE_LOOP', `trial resumed ${trial.resumes + 1} times without a verdict`, ctx.now);
    return { state: d.state, effects: [orphan, log('state-loop'), ...d.effects] };
  }
  const counted = { ...state, trial: { ...trial, resumes: trial.resumes + 1 } };
  if (trial.phase === 'reboot-pending') {
    if (sameBoot) {
      return { state: counted, effects: [orphan, log('reboot-pending-same-boot'), { type: 'persist', state: counted }, { type: 'reboot' }] };
    }
    const running = { ...counted, trial: { ...counted.trial, phase: 'running' as const, bootId: ctx.bootId, startedAt: ctx.now } };
    return { state: running, effects: [log('trial-after-reboot'), ...startTrial(running)] };
  }
  if (trial.attemptsLeft < 1) {
    const cause = sameBoot ? 'the supervisor restarted' : 'the device rebooted';
    const d = rollbackEffects(state, 'TRIAL_ATTEMPTS_EXHAUSTED', `no attempts left after ${cause} during the trial`, ctx.now);
    return { state: d.state, effects: [orphan, log('attempts-exhausted'), ...d.effects] };
  }
  const again = nextAttempt(counted, ctx.bootId, ctx.now);
  return { state: again, effects: [orphan, log(sameBoot ? 'trial-resumed-after-restart' : 'trial-resumed-after-reboot'), ...startTrial(again)] };
}

function startTrial(state: SystemState): Effect[] {
  const trial = state.trial;
  if (!trial) return [];
  return [
    { type: 'persist', state },
    { type: 'flip-current', slot: trial.slot },
    { type: 'start-app', slot: trial.slot },
    { type: 'emit', event: { type: 'trial-started', slot: trial.slot, version: trial.version, jobId: trial.jobId, kind: trial.kind, attemptsLeft: trial.attemptsLeft, reboot: false } },
  ];
}
