// Pure moves of the slot state. Each returns a new state or throws a CodedError naming the
// illegal move; none touches the disk (slots/store.ts persists, the supervisor acts).
//
// INVARIANTS (DESIGN.md "Slot state")
// - Only a slot that is neither committed nor in trial can be prepared (the active slot is never written).
// - A trial starts only from a `ready` slot, with its first attempt already counted.
// - Commit and rollback end the trial; a rolled-back slot becomes `failed` and is never retried.

import { CodedError } from '../common/errors.ts';
import type { SlotName } from './paths.ts';
import type { HealthSpec } from '../bundle/manifest-types.ts';
import { inactiveSlot, type SystemState, type Trial } from './state.ts';

function refuse(code: string, message: string, details: Record<string, unknown> = {}): never {
  throw new CodedError(code, message, details);
}

function withSlot(state: SystemState, slot: SlotName, value: SystemState['slots'][SlotName]): SystemState {
  return { ...state, slots: { ...state.slots, [slot]: value } };
}

/** Marks the inactive slot `installing` (the agent may now write it). Returns the new state and the slot. */
export function prepare(state: SystemState, now: number): { state: SystemState; slot: SlotName } {
  const slot = inactiveSlot(state);
  if (!slot) refuse('TRIAL_IN_PROGRESS', 'a trial is under way; no slot can be prepared');
  const next = withSlot(state, slot, { status: 'installing', since: now });
  return { state: { ...next, previous: next.previous === slot ? null : next.previous }, slot };
}

/** Marks an `installing` slot `ready` with the version and manifest hash found in it. */
export function ready(state: SystemState, slot: SlotName, version: string, manifestSha256: string): SystemState {
  if (state.slots[slot].status !== 'installing') {
    refuse('SLOT_NOT_INSTALLING', `slot ${slot} is ${state.slots[slot].status}, not installing`, { slot });
  }
  return withSlot(state, slot, { status: 'ready', version, manifestSha256 });
}

export interface BeginTrial {
  slot: SlotName;
  jobId: string;
  kind: Trial['kind'];
  attempts: number;
  bootId: string;
  now: number;
  reboot: boolean;
  /** The activation's health settings, persisted with the trial. */
  health?: HealthSpec;
}

/** Begins a trial of a `ready` slot; the first attempt is counted here, before anything starts. */
export function beginTrial(state: SystemState, b: BeginTrial): SystemState {
  if (state.trial) refuse('TRIAL_IN_PROGRESS', `slot ${state.trial.slot} is already in trial`);
  if (b.slot === state.committed) refuse('SLOT_IS_COMMITTED', `slot ${b.slot} is the committed slot`, { slot: b.slot });
  const target = state.slots[b.slot];
  if (target.status !== 'ready') refuse('SLOT_NOT_READY', `slot ${b.slot} is ${target.status}, not ready`, { slot: b.slot });
  if (!Number.isInteger(b.attempts) || b.attempts < 1) refuse('BAD_ATTEMPTS', 'attempts must be a positive integer');
  const trial: Trial = {
    slot: b.slot, version: target.version, jobId: b.jobId, kind: b.kind, attemptsLeft: b.attempts - 1,
    bootId: b.bootId, startedAt: b.now, phase: b.reboot ? 'reboot-pending' : 'running', resumes: 0,
  };
  if (b.health !== undefined) trial.health = b.health;
  return { ...state, trial };
}

/** Counts one more attempt of the running trial (after an interrupted one); refuses when none is left. */
export function nextAttempt(state: SystemState, bootId: string, now: number): SystemState {
  const trial = state.trial;
  if (!trial) refuse('NO_TRIAL', 'no trial to continue');
  if (trial.attemptsLeft < 1) refuse('ATTEMPTS_EXHAUSTED', `slot ${trial.slot} has no attempts left`);
  return { ...state, trial: { ...trial, attemptsLeft: trial.attemptsLeft - 1, bootId, startedAt: now, phase: 'running' } };
}

/** The trial slot becomes committed; the old committed slot becomes `previous`. */
export function commit(state: SystemState, now: number): SystemState {
  const trial = state.trial;
  if (!trial) refuse('NO_TRIAL', 'no trial to commit');
  if (trial.phase !== 'running') refuse('TRIAL_NOT_RUNNING', `trial is ${trial.phase}`);
  const old = state.committed;
  return {
    ...state, committed: trial.slot, trial: null,
    previous: old !== null && state.slots[old].status === 'ready' ? old : null,
    lastOutcome: { kind: 'committed', slot: trial.slot, version: trial.version, jobId: trial.jobId, at: now },
  };
}

/** Records the failure verdict: the trial enters `rolling-back` (persisted before `current` moves back). */
export function beginRollback(state: SystemState, code: string, reason: string): SystemState {
  const trial = state.trial;
  if (!trial) refuse('NO_TRIAL', 'no trial to roll back');
  if (trial.phase === 'rolling-back') return state;
  return { ...state, trial: { ...trial, phase: 'rolling-back', failure: { code, reason } } };
}

/** Ends a rollback: the trial slot is `failed` with the reason, the committed slot stays committed. */
export function finishRollback(state: SystemState, now: number): SystemState {
  const trial = state.trial;
  if (!trial || trial.phase !== 'rolling-back' || !trial.failure) refuse('NOT_ROLLING_BACK', 'no rollback under way');
  const { code, reason } = trial.failure;
  const next = withSlot(state, trial.slot, { status: 'failed', version: trial.version, reason, code });
  return {
    ...next, trial: null,
    // A failed revert leaves the previous slot failed: it is no longer a way back.
    previous: trial.kind === 'revert' ? null : next.previous,
    lastOutcome: { kind: 'rolled-back', slot: trial.slot, version: trial.version, jobId: trial.jobId, code, reason, at: now },
  };
}

/** Marks an `installing` slot `failed` (the agent gave up or the slot's content is unusable). */
export function fail(state: SystemState, slot: SlotName, code: string, reason: string): SystemState {
  const s = state.slots[slot];
  if (s.status !== 'installing') refuse('SLOT_NOT_INSTALLING', `slot ${slot} is ${s.status}, not installing`, { slot });
  return withSlot(state, slot, { status: 'failed', version: '', reason, code });
}
