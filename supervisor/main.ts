// The supervisor's composition root: reads the config, builds the watchdog, runner, health
// monitor, store and IPC, starts them in order, and owns the process signals.
//
// INVARIANTS
// - The watchdog is opened and petted before the app starts and magic-closed only after the
//   app has stopped on SIGTERM/SIGINT; any other end (crash, SIGKILL) leaves it armed.
// - Once it is open, no failure leaves a process that pets: a failed start, an uncaught error
//   or a failed stop ends the pets, closes it armed, releases what was made and exits non-zero
//   (lifecycle.ts).
// - The IPC socket opens only once the persisted state has been resumed.

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { unifiedCgroupPath } from './runner/cgroup.ts';
import { systemClock } from '../common/clock.ts';
import { messageOf } from '../common/errors.ts';
import { createLogger, type Logger } from '../common/log.ts';
import { devicePaths, type DevicePaths } from '../slots/paths.ts';
import { SlotStore } from '../slots/store.ts';
import { AppControl } from './app-control.ts';
import type { AppUserPolicy } from './app-user.ts';
import { readBootId } from '../slots/boot-id.ts';
import { loadSupervisorConfig, type SupervisorSettings } from './config.ts';
import { Supervisor } from './core.ts';
import { createHealthMonitor } from './health/index.ts';
import { groupId, userIds } from './ids.ts';
import { loadTrust } from '../bundle/trust.ts';
import type { SealOptions } from './slot-seal.ts';
import type { SlotHolder } from './slot-ops.ts';
import { checkSlotLayout } from './slot-layout.ts';
import { startIpcServer } from './ipc-server.ts';
import type { StatusReport } from '../ipc/protocol.ts';
import { handleRequest } from './requests.ts';
import { Containment, createAppRunner } from './runner/index.ts';
import { recordApp } from './orphan.ts';
import { AgentStatusKeeper, buildStatus } from './status.ts';
import { setupWatchdog, type WatchdogHandle } from './watchdog-setup.ts';
import { Lifecycle } from './lifecycle.ts';
import { memorySettler } from './lean-runtime.ts';

// Margin over the app's stop timeout for releasing everything after a failure.
const RELEASE_MARGIN_MS = 2000;
// After a failure, how long the process may take to exit by itself before it is forced to.
const EXIT_GRACE_MS = 2000;

export interface SupervisorOptions {
  configPath: string;
  root: string;
}

/**
 * Runs the supervisor until SIGTERM/SIGINT; resolves with the exit code. A failure after the
 * watchdog opened (start-up, uncaught error) rejects after stopping the pets (device left armed)
 * and releasing what was made.
 */
export async function runSupervisor(opts: SupervisorOptions): Promise<number> {
  const paths = devicePaths(opts.root);
  let settings = loadSupervisorConfig(opts.configPath);
  const logger = createLogger('supervisor', { level: settings.logLevel });
  const clock = systemClock;
  for (const dir of [paths.runDir, paths.agentDir]) mkdirSync(dir, { recursive: true });
  const bootId = readBootId(paths);
  logger.info({ event: 'supervisor-starting', pid: process.pid, root: paths.root, bootId }, 'supervisor starting');

  const watchdog = await setupWatchdog(settings.watchdog, clock, logger);
  const life = new Lifecycle({
    watchdog, logger, releaseTimeoutMs: settings.stopTimeoutMs + RELEASE_MARGIN_MS, exitGraceMs: EXIT_GRACE_MS,
    exit: (code) => process.exit(code), // only when something untracked still holds the event loop
  });
  life.watch(process);
  let parts: Started;
  try {
    parts = await startParts({ paths, settings: () => settings, logger, bootId, watchdog, life });
  } catch (err) {
    await life.fail(err, 'start');
    throw err;
  }
  const { sup, ipc, metrics } = parts;
  // Node writes its compile cache only at a clean exit, which a supervisor stopped by a power cut
  // or SIGKILL never has: persist it now, so the next start loads cached code instead of
  // type-stripping every module again (which keeps ~12 MiB of stripper resident for good).
  process.getBuiltinModule('node:module').flushCompileCache?.();
  const settler = memorySettler();
  settler.soon();
  sup.on((e) => {
    if (e.type === 'committed' || e.type === 'rolled-back') settler.soon();
  });

  return new Promise<number>((resolve, reject) => {
    let stopping = false;
    life.onFatal((err) => {
      stopping = true;
      reject(err instanceof Error ? err : new Error(messageOf(err)));
    });
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ event: 'supervisor-stopping', signal }, 'stopping');
      shutdown(sup, ipc, metrics, watchdog, logger).then(
        () => resolve(0),
        (err: unknown) => void life.fail(err, 'stop').then(() => resolve(1)),
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      settings = reload(opts.configPath, settings, logger, paths);
    });
    // Only now: whoever sees this line may signal the supervisor.
    logger.info({ event: 'supervisor-started', socket: paths.supervisorSocket }, 'supervisor running');
  });
}

interface Started {
  sup: Supervisor;
  ipc: { close(): Promise<void> };
  metrics: { close(): Promise<void> } | null;
}

interface PartsInput {
  paths: DevicePaths;
  settings: () => SupervisorSettings;
  logger: Logger;
  bootId: string;
  watchdog: WatchdogHandle;
  life: Lifecycle;
}

// Builds and starts the runner, health monitor, store, restart table, IPC and metrics, in that
// order; each part is held by `life` as soon as it exists, so a failure releases it.
async function startParts({ paths, settings, logger, bootId, watchdog, life }: PartsInput): Promise<Started> {
  const clock = systemClock;
  const s = settings();
  const containment = Containment.detect({ logger, limits: { memoryMax: s.memoryMax, cpuWeight: s.cpuWeight }, protectedUids: await protectedUids(s, logger) });
  const record = (r: Parameters<typeof recordApp>[2]): void => recordApp(paths, bootId, r);
  const runner = createAppRunner({ logger, clock, stopTimeoutMs: s.stopTimeoutMs, backoff: s.backoff, crashLoop: s.crashLoop, containment, record });
  const notifySocket = paths.notifySocket;
  const health = createHealthMonitor({ logger, clock, runner, notifySocketPath: notifySocket, cwd: paths.current });
  const store = new SlotStore(paths, logger);
  const isRoot = process.getuid?.() === 0;
  const userPolicy = (): AppUserPolicy => {
    const now = settings();
    return { appUser: now.appUser, allowedUsers: now.allowedUsers, allowRootApps: now.allowRootApps, agentUser: now.agentUser };
  };
  // The trust directory is read at each slot-ready (a key added since the start counts).
  const seal: SealOptions = { asRoot: isRoot, trust: () => loadTrust(paths.trustDir) };
  const slotHolder = async (): Promise<SlotHolder> => {
    const agent = settings().agentUser;
    return isRoot && agent !== null ? userIds(agent) : null;
  };
  const instanceCgroup = (): string | null => {
    const pid = runner.status().pid;
    if (pid === null || runner.containment().mode !== 'cgroup') return null; // else it would name the supervisor's own
    try {
      return unifiedCgroupPath(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    } catch {
      return null;
    }
  };
  const app = new AppControl({ paths, runner, health, clock, logger, bootId, notifySocket, deviceHealth: () => settings().health, userPolicy, isRoot, seal, instanceCgroup });
  const sup = new Supervisor({ store, app, runner, health, clock, logger, bootId, settings, seal, slotHolder, reboot: (argv) => reboot(argv, logger) });

  const agentStatus = new AgentStatusKeeper(() => clock.now());
  const status = (): StatusReport => {
    const wd = watchdog.stats();
    return buildStatus({
      paths, state: sup.state, loadSource: sup.loadSource, current: store.readCurrent(), bootId, running: true, pid: process.pid,
      app: app.report(), watchdog: watchdog.status(), counters: { ...sup.counters, pets: wd.pets, petsSkipped: wd.skipped }, powerFail: sup.powerFail,
      containment: runner.containment(),
      agent: agentStatus.section(),
    });
  };
  // The socket's group is resolved before anything starts: a bad one must not start the app.
  const gid = s.socketGroup ? await groupId(s.socketGroup) : null;
  await checkSlotLayout(paths, seal, logger);
  life.hold('app', () => sup.stop());
  await sup.start();
  const ipc = await startIpcServer({
    path: paths.supervisorSocket, gid, logger,
    handlers: { handle: (req) => handleRequest({ sup, status }, req), subscribe: (l) => sup.on(l), agentStatus: (a) => agentStatus.set(a) },
  });
  life.hold('ipc', () => ipc.close());
  // The HTTP server is loaded only when a metrics port is configured.
  const metrics = s.metricsPort === null ? null : await (await import('./metrics.ts')).startMetricsServer(s.metricsPort, status);
  if (metrics) {
    life.hold('metrics', () => metrics.close());
    logger.info({ event: 'metrics-listening', port: metrics.port }, 'Prometheus metrics on 127.0.0.1');
  }
  return { sup, ipc, metrics };
}

// Uids the uid sweep must never touch besides root and nobody: the supervisor's and the agent's.
async function protectedUids(s: SupervisorSettings, logger: Logger): Promise<number[]> {
  const uids = [process.getuid?.() ?? 0];
  if (s.agentUser === null) return uids;
  try {
    uids.push((await userIds(s.agentUser)).uid);
  } catch (err) {
    logger.warn({ event: 'agent-user-unknown', user: s.agentUser, err: messageOf(err) }, 'cannot look up the agent user');
  }
  return uids;
}

async function shutdown(sup: Supervisor, ipc: { close(): Promise<void> }, metrics: { close(): Promise<void> } | null, watchdog: { stopMagic(): void }, logger: Logger): Promise<void> {
  await ipc.close();
  await metrics?.close();
  await sup.stop();
  watchdog.stopMagic();
  logger.info({ event: 'supervisor-stopped' }, 'supervisor stopped');
  logger.flush();
}

// Health defaults, trial settings, the reboot command and the log level apply at once; the
// watchdog, runner and socket settings at the next start.
function reload(file: string, old: SupervisorSettings, logger: Logger, paths: DevicePaths): SupervisorSettings {
  try {
    const next = loadSupervisorConfig(file);
    logger.level = next.logLevel;
    logger.info({ event: 'config-reloaded', file, root: paths.root }, 'config reloaded');
    return next;
  } catch (err) {
    logger.error({ event: 'config-reload-failed', err: messageOf(err) }, 'config reload failed; keeping the old one');
    return old;
  }
}

// Detached, so the command outlives the supervisor when the reboot stops it first.
function reboot(argv: string[], logger: Logger): Promise<void> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.reject(new Error('empty reboot command'));
  logger.warn({ event: 'reboot-requested', argv }, 'running the reboot command');
  const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      logger.error({ event: 'reboot-failed', err: err.message }, 'reboot command failed');
      reject(err);
    });
    child.once('exit', (code, signal) => {
      if (code === 0) return resolve();
      logger.error({ event: 'reboot-failed', code, signal }, 'reboot command failed');
      reject(new Error(`exited with ${code ?? signal}`));
    });
  });
}
