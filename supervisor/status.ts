// The status report (IPC `status`, `twinslot status`), its text rendering and its Prometheus form.
// Built from the live supervisor when it runs, or from the files alone when it does not.

import { readBootId } from '../slots/boot-id.ts';
import type { DevicePaths } from '../slots/paths.ts';
import type { SystemState } from '../slots/state.ts';
import type { SlotStore } from '../slots/store.ts';
import type { AgentSection, AgentStatusReport, AppReport, ContainmentReport, Counters, StatusReport, WatchdogStatus } from '../ipc/protocol.ts';

export interface StatusInput {
  paths: DevicePaths;
  state: SystemState;
  loadSource: StatusReport['stateSource'];
  current: StatusReport['current'];
  bootId: string;
  running: boolean;
  pid: number | null;
  app: AppReport | null;
  watchdog: WatchdogStatus | null;
  counters: Counters | null;
  powerFail: boolean;
  /** The runner's, while the supervisor runs. */
  containment?: ContainmentReport;
  /** The agent's last pushed status (AgentStatusKeeper). */
  agent?: AgentSection | undefined;
}

/** Assembles the report. It reads no file of the agent's: its section is what the agent pushed. */
export function buildStatus(i: StatusInput): StatusReport {
  const { state } = i;
  const report: StatusReport = {
    running: i.running, pid: i.pid, bootId: i.bootId, current: i.current,
    committed: state.committed, previous: state.previous, trial: state.trial, lastOutcome: state.lastOutcome,
    slots: { a: { ...state.slots.a, path: i.paths.slot('a') }, b: { ...state.slots.b, path: i.paths.slot('b') } },
    stateSource: i.loadSource, app: i.app, watchdog: i.watchdog, counters: i.counters, powerFail: i.powerFail,
  };
  if (i.containment !== undefined) report.containment = i.containment;
  if (i.agent !== undefined) report.agent = i.agent;
  return report;
}

/** What the files say while no supervisor answers. */
export function offlineStatus(paths: DevicePaths, store: SlotStore): StatusReport {
  const loaded = store.load();
  return buildStatus({
    paths, state: loaded.state, loadSource: loaded.source, current: store.readCurrent(), bootId: readBootId(paths),
    running: false, pid: null, app: null, watchdog: null, counters: null, powerFail: false,
  });
}

/**
 * The agent's last `agent-status` and when it arrived, in memory only: root never reads the
 * agent's status.json (a file in a directory the agent writes could be a link or a FIFO).
 */
export class AgentStatusKeeper {
  readonly #now: () => number;
  #last: { status: AgentStatusReport; at: number } | undefined;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Keeps `status` (already validated) as the latest. */
  set(status: AgentStatusReport): void {
    this.#last = { status, at: this.#now() };
  }

  /** The report's `agent` section, or undefined before the agent's first push. */
  section(): AgentSection | undefined {
    if (this.#last === undefined) return undefined;
    const { status, at } = this.#last;
    return { ...status, source: 'supervisor', receivedAt: at, ageMs: Math.max(0, this.#now() - at) };
  }
}

/** The report for a terminal. */
export function renderStatus(r: StatusReport): string {
  const out: string[] = [];
  out.push(`supervisor  ${r.running ? `running (pid ${r.pid})` : 'not running'}${r.powerFail ? ', power failing' : ''}`);
  for (const name of ['a', 'b'] as const) {
    const s = r.slots[name];
    const tags = [name === r.committed ? 'committed' : '', name === r.trial?.slot ? 'trial' : '', name === r.current ? 'current' : ''].filter(Boolean);
    const detail = s.status === 'ready' ? s.version : s.status === 'failed' ? `${s.version} (${s.code}: ${s.reason})` : '';
    out.push(`slot ${name}      ${s.status.padEnd(10)} ${detail}${tags.length ? `  [${tags.join(', ')}]` : ''}`);
  }
  if (r.trial) out.push(`trial       ${r.trial.version} job ${r.trial.jobId}, ${r.trial.phase}, ${r.trial.attemptsLeft} attempts left`);
  const o = r.lastOutcome;
  if (o) out.push(`last        ${o.kind} ${o.version} (job ${o.jobId})${o.kind === 'rolled-back' ? `: ${o.code}: ${o.reason}` : ''}`);
  if (r.app) {
    const up = r.app.uptimeMs === null ? '-' : `${Math.round(r.app.uptimeMs / 1000)} s`;
    out.push(`app         ${r.app.version ?? '-'} pid ${r.app.pid ?? '-'}, up ${up}, ${r.app.restarts} restarts${r.app.crashLoop ? ', CRASH LOOP' : ''}, health ${r.app.health?.state ?? '-'}`);
  }
  if (r.watchdog) {
    const w = r.watchdog;
    out.push(`watchdog    ${w.state}${w.device ? ` ${w.device}` : ''}${w.timeoutSeconds ? `, timeout ${w.timeoutSeconds} s` : ''}${w.rebootedByWatchdog ? ', LAST REBOOT BY WATCHDOG' : ''}`);
  }
  if (r.containment) out.push(...renderContainment(r.containment));
  if (r.counters) out.push(`counters    ${Object.entries(r.counters).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (r.stateSource === 'backup') out.push('state       state.json damaged; its last good copy is in use');
  if (r.stateSource === 'default') out.push('state       no usable state.json; derived from `current`');
  if (r.agent !== undefined) out.push(renderAgent(r.agent));
  return `${out.join('\n')}\n`;
}

function renderContainment(c: ContainmentReport): string[] {
  const limits = c.mode !== 'cgroup' ? '' : [c.memoryMax === null ? '' : `, memory.max ${c.memoryMax}`, c.cpuWeight === null ? '' : `, cpu.weight ${c.cpuWeight}`].join('');
  const what = c.mode === 'cgroup' ? `cgroup ${c.cgroup ?? c.root}${limits}`
    : c.mode === 'uid-sweep' ? `uid-sweep${c.uid === null ? '' : ` of uid ${c.uid}`}` : 'process-group only (a process that calls setsid outlives a stop)';
  return [`containment ${what}`, ...c.warnings.map((w) => `            warning: ${w}`)];
}

function renderAgent(a: AgentSection): string {
  const job = a.job ? `, job ${a.job.jobId} ${a.job.phase}${a.job.progress === undefined ? '' : ` ${a.job.progress}%`}` : ', idle';
  const outbox = a.outbox ? `, outbox ${a.outbox.depth} waiting` : '';
  const from = a.source === 'file' ? 'status.json' : 'reported';
  return `agent       ${a.connection.state}${job}${outbox}${a.powerFailAt === undefined ? '' : ', power failing'} (pid ${a.pid}, ${from} ${Math.round(a.ageMs / 1000)} s ago)`;
}

/** Counters and a few gauges in the Prometheus text format. */
export function prometheusText(r: StatusReport): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number): void => {
    lines.push(`# HELP twinslot_${name} ${help}`, `# TYPE twinslot_${name} ${type}`, `twinslot_${name} ${value}`);
  };
  const c = r.counters;
  if (c) {
    metric('app_restarts_total', 'counter', 'App restarts by the runner.', c.restarts);
    metric('app_crashes_total', 'counter', 'App exits with a failure code or signal.', c.crashes);
    metric('app_crash_loops_total', 'counter', 'Crash loops entered.', c.crashLoops);
    metric('health_failures_total', 'counter', 'Unhealthy verdicts.', c.healthFailures);
    metric('trials_total', 'counter', 'Trial attempts started.', c.trials);
    metric('commits_total', 'counter', 'Trials committed.', c.commits);
    metric('rollbacks_total', 'counter', 'Trials rolled back.', c.rollbacks);
    metric('watchdog_pets_total', 'counter', 'Watchdog pets.', c.pets);
    metric('watchdog_pets_skipped_total', 'counter', 'Pets skipped for event-loop lag.', c.petsSkipped);
  }
  metric('trial_in_progress', 'gauge', '1 while a trial runs.', r.trial ? 1 : 0);
  metric('app_up', 'gauge', '1 while the app process runs.', r.app?.pid ? 1 : 0);
  metric('watchdog_rebooted', 'gauge', '1 when the last reboot was caused by the watchdog.', r.watchdog?.rebootedByWatchdog ? 1 : 0);
  return `${lines.join('\n')}\n`;
}
