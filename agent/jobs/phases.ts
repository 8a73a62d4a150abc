// The job machine, pure: one persisted discriminated union per job execution, what to do on
// entering each phase, what to do on finding it after a restart, and how events move it on.
// The executor (runner.ts) performs the actions and feeds their outcome back as events.
//
// INVARIANTS
// - A phase is persisted before its action runs, so a crash repeats the action of the phase it
//   was in, never one before it.
// - Nothing before `activating` has touched the running system: a cancel, a crash loop or a
//   failure there only cleans up local files (and the installing slot).
// - `activating` is never repeated blindly: after a restart the supervisor's state tells whether
//   the activation happened, so a bundle is activated at most once per execution.
// - A final report lives in `reporting` until the cloud accepts it (or says the execution is
//   gone); only then is the execution `closed`, and a closed execution is never run again.

import type { SlotName } from '../../slots/paths.ts';
import type { Operation } from './document.ts';

export type FinalStatus = 'SUCCEEDED' | 'FAILED' | 'REJECTED';

export interface FinalReport {
  status: FinalStatus;
  /** Stable code (ALREADY_INSTALLED, HEALTH_CHECK_FAILED, BUNDLE_*, DOCUMENT_INVALID, ...). */
  reason: string;
  message: string;
  /** Extra statusDetails (version, durations, report fields). */
  details: Record<string, string>;
}

export type Phase =
  | { kind: 'received' }
  | { kind: 'downloading' }
  | { kind: 'installing' }
  | { kind: 'activating'; slot: SlotName }
  | { kind: 'trial' }
  | { kind: 'rolling-back' }
  | { kind: 'restarting-app' }
  | { kind: 'rebooting'; bootId: string }
  | { kind: 'reporting'; final: FinalReport }
  | { kind: 'closed'; final: FinalReport | null; why: 'reported' | 'canceled' | 'gone' };

export type PhaseKind = Phase['kind'];

/** Every phase, for tests that enumerate them (crash at each one). */
export const PHASE_KINDS: readonly PhaseKind[] = [
  'received', 'downloading', 'installing', 'activating', 'trial', 'rolling-back', 'restarting-app', 'rebooting', 'reporting', 'closed',
];

export type Action =
  | 'precheck'
  | 'download'
  | 'install'
  | 'activate'
  | 'reconcile-activation'
  | 'await-trial'
  | 'rollback'
  | 'reconcile-rollback'
  | 'restart-app'
  | 'note-boot-id'
  | 'await-reboot'
  | 'send-report'
  | 'cleanup'
  | 'none';

/** What to do on entering `phase` (resumed = found persisted at start). */
export function actionFor(phase: Phase, resumed: boolean): Action {
  switch (phase.kind) {
    case 'received':
      return 'precheck';
    case 'downloading':
      return 'download';
    case 'installing':
      return 'install';
    case 'activating':
      return resumed ? 'reconcile-activation' : 'activate';
    case 'trial':
      return 'await-trial';
    case 'rolling-back':
      return resumed ? 'reconcile-rollback' : 'rollback';
    case 'restarting-app':
      return 'restart-app';
    case 'rebooting':
      // The boot id is recorded first (reboot-requested), then the reboot is asked for.
      return phase.bootId === '' ? 'note-boot-id' : 'await-reboot';
    case 'reporting':
      return 'send-report';
    case 'closed':
      return phase.why === 'reported' ? 'none' : 'cleanup';
  }
}

export type StepEvent =
  | { type: 'start'; operation: Operation }
  /** The supervisor already has this job's trial or outcome (its journal entry was lost). */
  | { type: 'activation-found' }
  | { type: 'downloaded' }
  | { type: 'installed'; slot: SlotName }
  | { type: 'activated' }
  | { type: 'rollback-requested' }
  | { type: 'reboot-requested'; bootId: string }
  | { type: 'finished'; final: FinalReport }
  | { type: 'report-accepted' }
  | { type: 'gone' }
  | { type: 'canceled' };

/** The phases in which a cancel from the cloud still stops local work. */
export function cancellable(phase: Phase): boolean {
  return phase.kind === 'received' || phase.kind === 'downloading' || phase.kind === 'installing';
}

/** The next phase after `event` in `phase`. Events that make no sense in a phase leave it unchanged. */
export function transition(phase: Phase, event: StepEvent): Phase {
  if (phase.kind === 'closed') return phase;
  switch (event.type) {
    case 'start':
      return phase.kind === 'received' ? startPhase(event.operation) : phase;
    case 'activation-found':
      return phase.kind === 'received' ? { kind: 'trial' } : phase;
    case 'downloaded':
      return phase.kind === 'downloading' ? { kind: 'installing' } : phase;
    case 'installed':
      return phase.kind === 'installing' ? { kind: 'activating', slot: event.slot } : phase;
    case 'activated':
      return phase.kind === 'activating' ? { kind: 'trial' } : phase;
    case 'rollback-requested':
      return phase.kind === 'rolling-back' ? { kind: 'trial' } : phase;
    case 'reboot-requested':
      return phase.kind === 'rebooting' ? { kind: 'rebooting', bootId: event.bootId } : phase;
    case 'finished':
      return phase.kind === 'reporting' ? phase : { kind: 'reporting', final: event.final };
    case 'report-accepted':
      return phase.kind === 'reporting' ? { kind: 'closed', final: phase.final, why: 'reported' } : phase;
    case 'gone':
      return { kind: 'closed', final: phase.kind === 'reporting' ? phase.final : null, why: cancellable(phase) ? 'canceled' : 'gone' };
    case 'canceled':
      return cancellable(phase) ? { kind: 'closed', final: null, why: 'canceled' } : phase;
  }
}

function startPhase(operation: Operation): Phase {
  switch (operation) {
    case 'install':
      return { kind: 'downloading' };
    case 'rollback':
      return { kind: 'rolling-back' };
    case 'restart-app':
      return { kind: 'restarting-app' };
    case 'reboot':
      return { kind: 'rebooting', bootId: '' };
    case 'report':
      return { kind: 'reporting', final: { status: 'SUCCEEDED', reason: 'REPORTED', message: 'report', details: {} } };
  }
}

/** Restarts found in one phase before the loop guard fails the job. */
export const MAX_RESUMES = 5;

/** Phases where repeated restarts are expected (waiting across reboots, delivering a report). */
export function guarded(phase: Phase): boolean {
  return !(phase.kind === 'trial' || phase.kind === 'rebooting' || phase.kind === 'reporting' || phase.kind === 'closed');
}

/** statusDetails.phase and a step timeout (minutes) for IN_PROGRESS updates in `phase`. */
export function stepFor(phase: Phase, timeouts: StepTimeouts): { name: string; minutes: number } | null {
  switch (phase.kind) {
    case 'received':
      return { name: 'checking', minutes: timeouts.checkMinutes };
    case 'downloading':
      return { name: 'downloading', minutes: timeouts.downloadMinutes };
    case 'installing':
      return { name: 'installing', minutes: timeouts.installMinutes };
    case 'activating':
    case 'trial':
    case 'rolling-back':
      return { name: phase.kind === 'rolling-back' ? 'rolling-back' : 'trial', minutes: timeouts.trialMinutes };
    case 'restarting-app':
      return { name: 'restarting-app', minutes: timeouts.checkMinutes };
    case 'rebooting':
      return { name: 'rebooting', minutes: timeouts.rebootMinutes };
    case 'reporting':
    case 'closed':
      return null;
  }
}

export interface StepTimeouts {
  checkMinutes: number;
  downloadMinutes: number;
  installMinutes: number;
  trialMinutes: number;
  rebootMinutes: number;
}
