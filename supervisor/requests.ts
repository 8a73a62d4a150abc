// What each IPC request does. Every handler runs in the supervisor's serial queue, and a refused
// request (coded error) leaves the state exactly as it was.

import { CodedError, messageOf } from '../common/errors.ts';
import { prepare, ready } from '../slots/transitions.ts';
import type { Method, Request, Results } from '../ipc/protocol.ts';
import type { Supervisor } from './core.ts';
import type { TrialEvent } from './trial/machine.ts';
import type { HealthSpec } from '../bundle/manifest-types.ts';
import { emptySlot } from './slot-ops.ts';
import { sealSlot } from './slot-seal.ts';
import { syncTree } from './slot-sync.ts';

export interface RequestContext {
  sup: Supervisor;
  status: () => Results['status'];
}

/** Executes one validated request; returns its result or throws a CodedError. */
export async function handleRequest(ctx: RequestContext, req: Exclude<Request, { method: 'subscribe' }>): Promise<Results[Method]> {
  const { sup } = ctx;
  const now = (): number => sup.d.clock.now();
  const attempts = (): number => sup.d.settings().trial.attempts;
  switch (req.method) {
    case 'status':
      return ctx.status();
    case 'prepare-slot':
      return sup.serial(async () => {
        const next = prepare(sup.state, now());
        // Persist `installing` first: a crash while emptying leaves a slot nobody trusts.
        sup.persist(next.state);
        const path = await emptySlot(sup.d.store.paths, next.slot, await sup.d.slotHolder(), sup.d.seal, sup.d.logger);
        sup.d.logger.info({ event: 'slot-prepared', slot: next.slot }, 'slot emptied for an install');
        return { slot: next.slot, path };
      });
    case 'slot-ready':
      return sup.serial(async () => {
        const { slot } = req.params;
        if (sup.state.slots[slot].status !== 'installing') {
          throw new CodedError('SLOT_NOT_INSTALLING', `slot ${slot} is ${sup.state.slots[slot].status}, not installing`);
        }
        // The slot becomes root's and is verified by the supervisor itself (slot-seal.ts); the
        // account it would run as is checked now, before anything is stopped.
        const content = await sealSlot(sup.d.store.paths.slot(slot), `slot ${slot}`, sup.d.seal);
        await sup.d.app.identityFor(content.manifest);
        // `ready` is recorded only for contents that are on disk (slot-sync.ts says why).
        const synced = await syncTree(sup.d.store.paths.slot(slot), `slot ${slot}`);
        sup.d.logger.info({ event: 'slot-synced', slot, entries: synced }, 'slot contents synced to disk');
        sup.persist(ready(sup.state, slot, content.manifest.version, content.manifestSha256));
        sup.d.logger.info({ event: 'slot-ready', slot, version: content.manifest.version }, 'slot ready');
        return { slot, version: content.manifest.version, manifestSha256: content.manifestSha256 };
      });
    case 'activate': {
      const { slot, jobId } = req.params;
      const event: TrialEvent = { type: 'activate', slot, jobId, reboot: req.params.reboot ?? false, attempts: attempts(), bootId: sup.d.bootId, now: now() };
      if (req.params.health !== undefined) event.health = allowedActivationHealth(req.params.health, sup.d.settings().jobHttpProbePorts);
      const d = await sup.decide(event);
      return trialResult(d.state.trial);
    }
    case 'rollback': {
      const jobId = req.params.jobId ?? `local-rollback-${now()}`;
      const d = await sup.decide({ type: 'revert', jobId, attempts: attempts(), bootId: sup.d.bootId, now: now() });
      return trialResult(d.state.trial);
    }
    case 'restart-app':
      return sup.serial(async () => {
        const { trial, committed } = sup.state;
        if (trial) throw new CodedError('TRIAL_IN_PROGRESS', 'the app restarts on its own during a trial; wait for the verdict');
        if (!committed) throw new CodedError('NO_COMMITTED_SLOT', 'nothing is installed');
        if (sup.powerFail) powerBack(sup, 'restart-app'); // an operator's restart: the power is back as far as we know
        await sup.startApp(committed);
        return { restarted: true };
      });
    case 'power-fail':
      return sup.serial(async () => {
        sup.powerFail = true;
        sup.d.logger.warn({ event: 'power-fail' }, 'power failing: telling the agent, stopping the app');
        sup.emit({ type: 'power-fail', at: now() });
        await sup.stopApp();
        return { stopped: true };
      });
    case 'power-restored':
      return sup.serial(() => powerRestored(sup));
    case 'reboot':
      return sup.serial(() => reboot(sup, req.params.jobId ?? null));
  }
}

// After `power-fail`, the device may stay up (the UPS got mains back before the batteries ran
// out): the app comes back as it was, the trial slot's during a trial, else the committed one.
// Idempotent: without a power-fail before, or with the app already running again (a rollback or
// `restart-app` started it), nothing is started.
async function powerRestored(sup: Supervisor): Promise<Results['power-restored']> {
  if (!sup.powerFail) return { restarted: false };
  powerBack(sup, 'power-restored');
  if (sup.d.app.running() !== null) return { restarted: false };
  const { trial, committed } = sup.state;
  const slot = trial?.phase === 'running' ? trial.slot : committed;
  if (slot === null) return { restarted: false };
  await sup.startApp(slot);
  return { restarted: true };
}

// Clears a power-fail and tells subscribers (the agent takes work again).
function powerBack(sup: Supervisor, by: 'power-restored' | 'restart-app'): void {
  sup.powerFail = false;
  sup.d.logger.info({ event: 'power-restored', by }, 'power restored: telling the agent');
  sup.emit({ type: 'power-restored', at: sup.d.clock.now() });
}

// Ordered: the app stops (SIGTERM, then SIGKILL after stopTimeoutMs), the agent hears `reboot`,
// then the command runs. A command that fails leaves the device up, so the app starts again.
async function reboot(sup: Supervisor, jobId: string | null): Promise<Results['reboot']> {
  if (sup.state.trial) throw new CodedError('TRIAL_IN_PROGRESS', 'a reboot now would count a trial attempt; wait for the verdict');
  const argv = sup.d.settings().rebootCommand;
  sup.d.logger.warn({ event: 'reboot-request-received', jobId, argv }, 'reboot requested: stopping the app');
  await sup.d.app.stop();
  sup.emit({ type: 'reboot', jobId, at: sup.d.clock.now() });
  try {
    await sup.d.reboot(argv);
  } catch (err) {
    sup.d.logger.error({ event: 'reboot-failed', jobId, err: messageOf(err) }, 'reboot command failed; starting the app again');
    if (sup.state.committed) await sup.startApp(sup.state.committed);
    throw new CodedError('REBOOT_FAILED', `reboot command ${JSON.stringify(argv)} failed: ${messageOf(err)}`);
  }
  return { rebooting: true };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A job's health settings as the device allows them: no command probe (validate.ts already
 * refuses one), and an HTTP probe only to a loopback port listed in jobHttpProbePorts, so a job
 * document cannot make the device send requests elsewhere. HEALTH_NOT_ALLOWED otherwise.
 */
export function allowedActivationHealth(health: HealthSpec, ports: readonly number[]): HealthSpec {
  if (health.command !== undefined) throw new CodedError('HEALTH_NOT_ALLOWED', 'a job may not choose a command probe');
  if (health.http === undefined) return health;
  let url: URL;
  try {
    url = new URL(health.http.url);
  } catch {
    throw new CodedError('HEALTH_NOT_ALLOWED', `health.http.url ${JSON.stringify(health.http.url)} is not a URL`);
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (!LOOPBACK.has(url.hostname) || url.username !== '' || url.password !== '') {
    throw new CodedError('HEALTH_NOT_ALLOWED', `a job's HTTP probe must target this device's loopback (127.0.0.1, localhost or [::1]), not ${url.host}`);
  }
  if (!ports.includes(port)) {
    const allowed = ports.length === 0 ? 'none are (supervisor.jobHttpProbePorts is empty)' : `allowed: ${ports.join(', ')} (supervisor.jobHttpProbePorts)`;
    throw new CodedError('HEALTH_NOT_ALLOWED', `a job's HTTP probe may not target port ${port}; ${allowed}`);
  }
  return health;
}

function trialResult(trial: Supervisor['state']['trial']): Results['activate'] {
  if (!trial) throw new Error('the trial ended before it was reported');
  return { slot: trial.slot, version: trial.version, attemptsLeft: trial.attemptsLeft };
}
