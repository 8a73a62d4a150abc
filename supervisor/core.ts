// The supervisor's core: owns the slot state, feeds the trial machine with app and health
// events, and executes its decisions. Every change runs through one serial queue, so an IPC
// request, a health verdict and a timer never interleave their effects.
//
// INVARIANTS
// - State changes only through a decision's `persist` effects (or a slot move in requests.ts),
//   each durable before the next effect runs.
// - An app event is attributed to the slot that ran when the event happened, captured
//   synchronously: an exit caused by our own stop is never taken for a failure.

import type { Clock } from '../common/clock.ts';
import { CodedError, messageOf } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import type { SlotName } from '../slots/paths.ts';
import type { SlotStore } from '../slots/store.ts';
import type { SystemState } from '../slots/state.ts';
import type { AppRunner, AppRunnerEvent, HealthMonitor, HealthVerdict } from './ports.ts';
import type { AppControl } from './app-control.ts';
import { zeroCounters, type SupervisorEvent } from '../ipc/protocol.ts';
import type { SupervisorSettings } from './config.ts';
import { transition, type TrialEvent } from './trial/machine.ts';
import { resume } from './trial/resume.ts';
import { runEffects, type EffectPorts } from './trial/executor.ts';
import type { Decision } from './trial/effects.ts';
import { TrialTimers } from './trial/timers.ts';
import { killOrphan } from './orphan.ts';
import type { SealOptions } from './slot-seal.ts';
import type { SlotHolder } from './slot-ops.ts';

export interface SupervisorDeps {
  store: SlotStore;
  app: AppControl;
  runner: AppRunner;
  health: HealthMonitor;
  clock: Clock;
  logger: Logger;
  bootId: string;
  settings: () => SupervisorSettings;
  /** How slots are taken from the agent and checked (slot-seal.ts). */
  seal: SealOptions;
  /** Whose a prepared slot becomes (the agent's ids), or null to keep it root's. */
  slotHolder: () => Promise<SlotHolder>;
  /** Runs the reboot command; resolves when it exited 0, rejects when it failed. */
  reboot: (argv: string[]) => Promise<void>;
}

type Failure = { code: string; reason: string; running: SlotName | null };

/** The trial machine's executor and the owner of state.json while the supervisor runs. */
export class Supervisor {
  readonly d: SupervisorDeps;
  readonly counters = zeroCounters();
  loadSource: 'state' | 'backup' | 'default' = 'state';
  powerFail = false;
  #state!: SystemState;
  #chain: Promise<unknown> = Promise.resolve();
  #listeners = new Set<(e: SupervisorEvent) => void>();
  #timers: TrialTimers;
  #pending: Failure | null = null;
  #offs: Array<() => void> = [];

  constructor(deps: SupervisorDeps) {
    this.d = deps;
    this.#timers = new TrialTimers(deps.clock);
  }

  /** Loads (and if need be recovers) the state, then does what the restart table says. */
  async start(): Promise<void> {
    this.d.store.removeInterruptedWrites();
    const loaded = this.d.store.load();
    this.loadSource = loaded.source;
    this.#state = loaded.problem ? this.d.store.save(loaded.state) : loaded.state;
    this.#offs.push(this.d.runner.on((e) => this.#onRunner(e, this.#runningSlot())));
    this.#offs.push(this.d.health.on((v) => this.#onVerdict(v, this.#runningSlot())));
    const { trial } = this.d.settings();
    await this.serial(() => this.#execute(resume(this.#state, { bootId: this.d.bootId, now: this.d.clock.now(), loopLimit: trial.loopLimit })));
  }

  /** Stops timers, listeners and the app (graceful: SIGTERM, then SIGKILL after the stop timeout); releases the notify socket. */
  async stop(): Promise<void> {
    await this.serial(async () => {
      this.#timers.clear();
      for (const off of this.#offs.splice(0)) off();
      await this.d.app.stop();
      this.d.health.close();
    });
  }

  /** The persisted state as last written. */
  get state(): SystemState {
    return this.#state;
  }

  /** Runs `fn` after every queued change has finished. */
  serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Feeds one event to the trial machine and executes the decision (queued). */
  decide(event: TrialEvent): Promise<Decision> {
    return this.serial(async () => {
      const decision = transition(this.#state, event);
      await this.#execute(decision);
      return decision;
    });
  }

  /** Persists a slot move decided outside the trial machine (prepare, ready); call inside serial(). */
  persist(state: SystemState): void {
    this.#state = this.d.store.save(state);
  }

  on(listener: (e: SupervisorEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: SupervisorEvent): void {
    if (event.type === 'trial-started') this.counters.trials += 1;
    if (event.type === 'committed') this.counters.commits += 1;
    if (event.type === 'rolled-back') this.counters.rollbacks += 1;
    for (const l of this.#listeners) l(event);
  }

  /**
   * Stops the app and the trial's start and probation timers: no verdict is drawn from an app
   * stopped on purpose (a power-fail during a trial leaves the trial as it was, for the next boot
   * or power-restored). Call inside serial().
   */
  async stopApp(): Promise<void> {
    this.#timers.clear();
    await this.d.app.stop();
  }

  /** Starts the app of `slot`; a trial app that cannot start is a trial failure. Call inside serial(). */
  async startApp(slot: SlotName): Promise<void> {
    this.#timers.clear();
    try {
      const trial = this.#state.trial;
      const recorded = this.#state.slots[slot];
      const sha = recorded.status === 'ready' ? recorded.manifestSha256 : '';
      const running = await this.d.app.start(slot, sha, trial?.slot === slot ? trial.health : undefined);
      if (trial?.phase === 'running' && trial.slot === slot) {
        const secs = running.health.startTimeoutSeconds;
        this.#timers.armStart(secs * 1000, () => this.#fail('HEALTH_START_TIMEOUT', `not healthy within ${secs} s of start`, this.#runningSlot()));
      }
    } catch (err) {
      const code = err instanceof CodedError ? String(err.code) : 'APP_START_FAILED';
      this.d.logger.error({ event: 'app-start-failed', slot, code, err: messageOf(err) }, 'cannot start the app');
      const trial = this.#state.trial;
      if (trial?.phase === 'running' && trial.slot === slot) this.#pending = { code, reason: messageOf(err), running: slot };
    }
  }

  async #execute(decision: Decision): Promise<void> {
    await runEffects(decision.effects, this.#ports());
    if (this.#state.trial?.phase !== 'running') this.#timers.clear();
    const pending = this.#pending;
    this.#pending = null;
    if (pending) await this.#execute(transition(this.#state, { type: 'failed', ...pending, now: this.d.clock.now() }));
  }

  #ports(): EffectPorts {
    const { store, logger, clock, bootId } = this.d;
    return {
      persist: (s) => this.persist(s),
      flipCurrent: (slot) => store.flipCurrent(slot),
      clearCurrent: () => store.clearCurrent(),
      startApp: (slot) => this.startApp(slot),
      stopApp: () => this.stopApp(),
      killOrphan: async () => {
        await killOrphan(store.paths, bootId, clock, logger, this.d.settings().stopTimeoutMs);
      },
      reboot: () => {
        this.d.reboot(this.d.settings().rebootCommand).catch(() => undefined); // logged by the reboot port
      },
      emit: (e) => this.emit(e),
      log: (level, event, fields) => logger[level]({ event, ...fields }, event),
    };
  }

  /** The slot whose app runs now: started by us, alive, and named by `current`. */
  #runningSlot(): SlotName | null {
    const r = this.d.app.running();
    if (!r || this.d.runner.status().pid === null) return null;
    return this.d.store.readCurrent() === r.slot ? r.slot : null;
  }

  #fail(code: string, reason: string, running: SlotName | null): void {
    this.decide({ type: 'failed', code, reason, running, now: this.d.clock.now() }).catch((err: unknown) => {
      this.d.logger.error({ event: 'trial-failure-handling-failed', err: messageOf(err) }, 'cannot act on a failure');
    });
  }

  #onRunner(e: AppRunnerEvent, running: SlotName | null): void {
    const slot = this.d.app.running()?.slot ?? null; // exits of our own stops come with no app
    if (e.type === 'restart-scheduled') {
      this.counters.restarts += 1;
      this.d.logger.info({ event: 'app-restart-scheduled', slot, delayMs: Math.round(e.delayMs), restarts: e.restarts }, 'app restarts after a backoff');
    }
    if (e.type === 'exited' && slot !== null) {
      if (e.code !== 0 || e.signal !== null) this.counters.crashes += 1;
      if (this.#state.trial?.slot === slot) this.#fail('APP_EXITED', `app exited (code ${e.code}, signal ${e.signal}) during the trial`, slot);
    }
    if (e.type === 'crash-loop') {
      this.counters.crashLoops += 1;
      const r = this.d.app.running();
      this.emit({ type: 'crash-loop', slot, version: r?.version ?? null, restarts: e.restarts, windowMs: e.windowMs });
      if (slot !== null && this.#state.trial?.slot === slot) this.#fail('APP_CRASH_LOOP', `${e.restarts} restarts within ${e.windowMs} ms`, running ?? slot);
    }
  }

  #onVerdict(v: HealthVerdict, running: SlotName | null): void {
    const trial = this.#state.trial;
    const inTrial = trial?.phase === 'running' && running === trial.slot;
    if (v.state === 'healthy') {
      this.#timers.clearStart();
      if (!inTrial) return;
      const ms = (this.d.app.running()?.health.probationSeconds ?? 0) * 1000;
      this.d.logger.info({ event: 'probation-started', slot: running, since: v.since, probationMs: ms }, 'trial app healthy; probation runs');
      this.#timers.armProbation(ms, v.since, (armedSince) => this.#probationElapsed(armedSince));
    } else if (v.state === 'unhealthy') {
      this.counters.healthFailures += 1;
      this.d.logger.warn({ event: 'app-unhealthy', slot: running, code: v.code, reason: v.reason, trial: inTrial }, 'app unhealthy');
      if (inTrial) this.#fail(v.code, v.reason, running);
    }
  }

  #probationElapsed(armedSince: number): void {
    const v = this.d.health.verdict();
    const healthySince = v.state === 'healthy' ? v.since : null;
    this.serial(async () => {
      const decision = transition(this.#state, { type: 'probation-elapsed', armedSince, healthySince, running: this.#runningSlot(), now: this.d.clock.now() });
      await this.#execute(decision);
    }).catch((err: unknown) => this.d.logger.error({ event: 'commit-failed', err: messageOf(err) }, 'cannot act on probation'));
  }
}
