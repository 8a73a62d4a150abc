// The persisted slot state (state.json): one discriminated union per slot, one record for the
// system. The supervisor alone writes it; the agent and `twinslot status` read it.

import { CodedError } from '../common/errors.ts';
import { SLOT_NAMES, type SlotName } from './paths.ts';
import type { HealthSpec } from '../bundle/manifest-types.ts';
import { parseHealthSpec } from '../common/health-spec.ts';

export const STATE_SCHEMA = 1;

export type SlotState =
  | { status: 'empty' }
  | { status: 'installing'; since: number }
  | { status: 'ready'; version: string; manifestSha256: string }
  | { status: 'failed'; version: string; reason: string; code: string };

/**
 * Where a trial is. `reboot-pending`: persisted and `current` flipped, the reboot command asked for;
 * `running`: an attempt of the trial slot runs; `rolling-back`: the verdict is failure and the
 * way back is under way.
 */
export type TrialPhase = 'reboot-pending' | 'running' | 'rolling-back';

export interface Trial {
  slot: SlotName;
  version: string;
  jobId: string;
  /** `update` installs a new version; `revert` returns to the previous committed one. */
  kind: 'update' | 'revert';
  /** Attempts still allowed after the one counted in this record. */
  attemptsLeft: number;
  /** boot_id of the boot in which the current attempt was counted. */
  bootId: string;
  startedAt: number;
  phase: TrialPhase;
  /** Startups that found this trial persisted (loop guard). */
  resumes: number;
  /** Health settings the activation asked for (over the device's and the manifest's); kept for every attempt. */
  health?: HealthSpec;
  /** Why the trial is being rolled back (phase `rolling-back`). */
  failure?: { code: string; reason: string };
}

export type Outcome =
  | { kind: 'committed'; slot: SlotName; version: string; jobId: string; at: number }
  | { kind: 'rolled-back'; slot: SlotName; version: string; jobId: string; code: string; reason: string; at: number };

export interface SystemState {
  schema: typeof STATE_SCHEMA;
  /** Incremented by every save: tells which of state.json and its previous copy is newer. */
  seq: number;
  slots: Record<SlotName, SlotState>;
  /** The slot that runs when no trial is under way; null before the first commit. */
  committed: SlotName | null;
  trial: Trial | null;
  /** The slot committed before `committed`, kept while it stays `ready` (for a revert). */
  previous: SlotName | null;
  lastOutcome: Outcome | null;
}

/** The state of a device with nothing installed, or with `committed` holding an unknown version. */
export function initialState(committed: SlotName | null = null): SystemState {
  const slots: Record<SlotName, SlotState> = { a: { status: 'empty' }, b: { status: 'empty' } };
  if (committed) slots[committed] = { status: 'ready', version: '0.0.0-unknown', manifestSha256: '' };
  return { schema: STATE_SCHEMA, seq: 0, slots, committed, trial: null, previous: null, lastOutcome: null };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isSlot = (v: unknown): v is SlotName => v === 'a' || v === 'b';
const isSlotOrNull = (v: unknown): v is SlotName | null => v === null || isSlot(v);

function bad(what: string): never {
  throw new CodedError('STATE_INVALID', `state.json: ${what}`);
}

function parseSlot(v: unknown): SlotState {
  if (!isObj(v)) bad('slot is not an object');
  switch (v.status) {
    case 'empty':
      return { status: 'empty' };
    case 'installing':
      return isNum(v.since) ? { status: 'installing', since: v.since } : bad('installing.since');
    case 'ready':
      if (!isStr(v.version) || !isStr(v.manifestSha256)) bad('ready slot fields');
      return { status: 'ready', version: v.version, manifestSha256: v.manifestSha256 };
    case 'failed':
      if (!isStr(v.version) || !isStr(v.reason) || !isStr(v.code)) bad('failed slot fields');
      return { status: 'failed', version: v.version, reason: v.reason, code: v.code };
    default:
      return bad(`unknown slot status ${JSON.stringify(v.status)}`);
  }
}

function parseTrial(v: unknown): Trial | null {
  if (v === null) return null;
  if (!isObj(v)) bad('trial is not an object');
  const phases: unknown[] = ['reboot-pending', 'running', 'rolling-back'];
  if (!isSlot(v.slot) || !isStr(v.version) || !isStr(v.jobId) || !isStr(v.bootId)) bad('trial identity');
  if (v.kind !== 'update' && v.kind !== 'revert') bad('trial.kind');
  if (!isNum(v.attemptsLeft) || v.attemptsLeft < 0 || !isNum(v.startedAt) || !isNum(v.resumes)) bad('trial counters');
  if (!phases.includes(v.phase)) bad('trial.phase');
  const trial: Trial = {
    slot: v.slot, version: v.version, jobId: v.jobId, kind: v.kind, attemptsLeft: v.attemptsLeft,
    bootId: v.bootId, startedAt: v.startedAt, phase: v.phase as TrialPhase, resumes: v.resumes,
  };
  if (v.health !== undefined) trial.health = parseHealthSpec(v.health, 'state.json: trial.health', 'STATE_INVALID');
  if (v.failure !== undefined) {
    if (!isObj(v.failure) || !isStr(v.failure.code) || !isStr(v.failure.reason)) bad('trial.failure');
    trial.failure = { code: v.failure.code, reason: v.failure.reason };
  }
  return trial;
}

function parseOutcome(v: unknown): Outcome | null {
  if (v === null) return null;
  if (!isObj(v) || !isSlot(v.slot) || !isStr(v.version) || !isStr(v.jobId) || !isNum(v.at)) bad('lastOutcome');
  if (v.kind === 'committed') return { kind: 'committed', slot: v.slot, version: v.version, jobId: v.jobId, at: v.at };
  if (v.kind !== 'rolled-back' || !isStr(v.code) || !isStr(v.reason)) bad('lastOutcome.kind');
  return { kind: 'rolled-back', slot: v.slot, version: v.version, jobId: v.jobId, code: v.code, reason: v.reason, at: v.at };
}

/** Parses and checks state.json's text; throws STATE_INVALID on anything but a well-formed state. */
export function parseState(text: string): SystemState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    bad('not JSON');
  }
  if (!isObj(raw)) bad('not an object');
  if (raw.schema !== STATE_SCHEMA) bad(`schema ${JSON.stringify(raw.schema)}`);
  if (!isNum(raw.seq) || !isObj(raw.slots)) bad('seq or slots');
  const slots = { a: parseSlot(raw.slots.a), b: parseSlot(raw.slots.b) };
  if (!isSlotOrNull(raw.committed) || !isSlotOrNull(raw.previous)) bad('committed or previous');
  const state: SystemState = {
    schema: STATE_SCHEMA, seq: raw.seq, slots, committed: raw.committed, previous: raw.previous,
    trial: parseTrial(raw.trial ?? null), lastOutcome: parseOutcome(raw.lastOutcome ?? null),
  };
  if (state.trial && state.trial.slot === state.committed) bad('trial slot is the committed slot');
  return state;
}

/** The slot `current` must point at for this state: the trial slot while one runs, else committed. */
export function expectedCurrent(state: SystemState): SlotName | null {
  if (state.trial && state.trial.phase !== 'rolling-back') return state.trial.slot;
  return state.committed;
}

/** The slot neither committed nor in trial, where the next bundle goes (null while a trial runs). */
export function inactiveSlot(state: SystemState): SlotName | null {
  if (state.trial) return null;
  return SLOT_NAMES.find((s) => s !== state.committed) ?? null;
}
