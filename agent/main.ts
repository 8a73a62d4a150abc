// The agent's composition root: reads the config, builds the link to AWS IoT Core (connection,
// outbox, status file), the Jobs client, the supervisor link, the journal and the jobs engine,
// starts them in order and owns the process signals. Nothing below reads env or exits.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTrust } from '../bundle/trust.ts';
import { systemClock } from '../common/clock.ts';
import { CodedError, messageOf } from '../common/errors.ts';
import { createLogger, type Logger, type LogLevel } from '../common/log.ts';
import { devicePaths } from '../slots/paths.ts';
import { readBootId } from '../slots/boot-id.ts';
import { parseAgentConfig } from './config.ts';
import { parseJobsSections } from './jobs/config.ts';
import { ensureProvisioned } from './provisioning/ensure.ts';
import { JobsEngine } from './jobs/engine.ts';
import { Journal, type JournalEntry } from './jobs/journal.ts';
import { SdkJobsApi } from './jobs/sdk-jobs.ts';
import { startLink } from './link.ts';
import { SupervisorLink } from './update/supervisor-link.ts';
import { StatusPusher, type AgentStatus } from './status-file.ts';
import { DeviceEvents } from './device-events.ts';
import { announcePowerRestored, handlePowerFail } from './power-fail.ts';

export interface AgentOptions {
  configPath: string;
  root: string;
  logLevel?: LogLevel;
  version?: string;
  /** Crash injection for tests: SIGKILL this process right after a job first enters this phase. */
  crashAtPhase?: string;
}

/** Runs the agent until SIGTERM/SIGINT; resolves with the exit code. */
export async function runAgent(opts: AgentOptions): Promise<number> {
  const paths = devicePaths(opts.root);
  const raw = readConfig(opts.configPath);
  const config = parseAgentConfig(raw, opts.version ?? '0.0.0');
  const sections = parseJobsSections(raw);
  const log = createLogger('agent', { level: opts.logLevel ?? 'info' });
  const clock = systemClock;
  log.info({ event: 'agent-starting', pid: process.pid, root: paths.root, thingName: config.connection.thingName }, 'agent starting');
  for (const key of sections.deprecated) log.warn({ event: 'config-deprecated', key }, `${key} is ignored: a reboot job asks the supervisor (supervisor.rebootCommand)`);

  // Fleet provisioning by claim (config `provisioning`) stores the certificate the link uses.
  await ensureProvisioned(raw, config, { log, clock });
  // Filled below; the status file reads them at every write.
  const state: { engine?: JobsEngine; powerFailAt?: number } = {};
  const statusExtra = (): Pick<AgentStatus, 'job' | 'powerFailAt'> => ({ job: state.engine?.job() ?? null, ...(state.powerFailAt === undefined ? {} : { powerFailAt: state.powerFailAt }) });
  const link = await startLink({ config, agentDir: paths.agentDir, log, clock, statusExtra });
  const { connection } = link;
  const { thingName, clientId } = config.connection;
  const events = new DeviceEvents(link.outbox, thingName, clientId);
  announcePowerRestored(paths.agentDir, link.outbox, { thingName, clientId, version: opts.version ?? '0.0.0', at: clock.now() }, log);
  const jobs = new SdkJobsApi(
    config.connection.thingName,
    {
      current: () => connection.mqttClient(),
      onConnected: (listener) => connection.onEvent((e) => {
        if (e.type === 'connected') listener(e.rejoinedSession);
      }),
    },
    log,
    sections.jobs.operationTimeoutSeconds,
  );
  const supervisor = new SupervisorLink(paths.supervisorSocket, log, clock);
  // The status file's content, pushed to the supervisor too: root never reads the agent's files.
  const pusher = new StatusPusher({
    build: () => ({ pid: process.pid, updatedAt: new Date(clock.now()).toISOString(), thingName, clientId, ...link.snapshot(), ...statusExtra() }),
    send: (report) => supervisor.pushStatus(report), intervalMs: config.metrics.statusIntervalMs, log,
  });
  const ca = sections.update.caPath === undefined ? undefined : readFileSync(sections.update.caPath);
  const crashAt = opts.crashAtPhase;
  // A fresh engine at start and after power-restored (a stopped engine is not restarted).
  const newEngine = (): JobsEngine => new JobsEngine({
    ...(crashAt === undefined ? {} : { onSaved: (e: JournalEntry) => crashIfAt(e, crashAt, log) }),
    journal: new Journal(join(paths.agentDir, 'jobs'), sections.jobs.keepClosed, log),
    jobs,
    reporter: { jobs, clock, log, backoff: sections.jobs.updateBackoff },
    ctx: {
      paths, deviceType: sections.deviceType, jobsConfig: sections.jobs, update: sections.update, ca, supervisor, jobs, clock, log,
      loadTrust: () => loadTrust(sections.update.trustDir ?? paths.trustDir),
      bootId: () => Promise.resolve(readBootId(paths)),
      events,
    },
  });
  let engine = newEngine();
  state.engine = engine;
  let stopping = false;
  // Power notices, one after the other: a power-restored waits until the power-fail's engine stop
  // is done, and a power-fail right after a power-restored stops the engine that one started.
  let power: Promise<void> = Promise.resolve();
  const inTurn = (step: () => Promise<void>): void => {
    power = power.then(step).catch((err: unknown) => log.error({ event: 'power-notice-failed', err: messageOf(err) }, 'a power notice was not handled'));
  };
  const powerFailed = (at: number): void => inTurn(async () => {
    if (state.powerFailAt !== undefined || stopping) return;
    state.powerFailAt = at;
    await handlePowerFail(at, { events, engine, agentDir: paths.agentDir, log, writeStatus: () => link.writeStatus() });
  });
  const powerRestored = (why: string): void => inTurn(async () => {
    if (state.powerFailAt === undefined || stopping) return;
    announcePowerRestored(paths.agentDir, link.outbox, { thingName, clientId, version: opts.version ?? '0.0.0', at: clock.now() }, log);
    delete state.powerFailAt;
    engine = newEngine();
    state.engine = engine;
    engine.start();
    log.info({ event: 'jobs-resumed', why }, 'power is back: taking work again');
    await link.writeStatus();
  });
  supervisor.keepSubscribed((e) => {
    if (e.type === 'power-fail') powerFailed(e.at);
    else if (e.type === 'power-restored') powerRestored('power-restored');
  });
  // A notice sent while the agent was not subscribed (the supervisor restarting) is lost; its
  // status says where the power stands. A restarted supervisor runs the app: power is back.
  supervisor.onSubscribed(() => {
    supervisor.status().then(
      (s) => {
        if (s.powerFail) powerFailed(clock.now());
        else powerRestored('supervisor-not-power-failing');
      },
      (err: unknown) => log.warn({ event: 'power-state-unknown', err: messageOf(err) }, 'could not read the supervisor\'s power state'),
    );
  });
  supervisor.onSubscribed(() => void pusher.push()); // a restarted supervisor has it at once
  pusher.start();
  jobs.start();
  engine.start();
  log.info({ event: 'agent-started' }, 'agent running');

  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ event: 'agent-stopping', signal }, 'stopping');
      (async () => {
        await engine.stop();
        jobs.stop();
        await link.stop();
        await pusher.stop(); // the last status (link stopped) reaches the supervisor too
        supervisor.close();
      })().then(
        () => {
          log.info({ event: 'agent-stopped' }, 'agent stopped');
          resolve(0);
          // A closed Mqtt5Client keeps the event loop referenced (aws-crt-nodejs #600; agent/README.md).
          setImmediate(() => process.exit(0));
        },
        (err: unknown) => {
          log.error({ event: 'agent-stop-failed', err: messageOf(err) }, 'stop failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

function crashIfAt(entry: JournalEntry, phase: string, log: Logger): void {
  if (entry.phase.kind !== phase || entry.resumes !== 0) return;
  log.warn({ event: 'crash-injected', jobId: entry.jobId, phase }, 'SIGKILL injected');
  process.kill(process.pid, 'SIGKILL');
}

function readConfig(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CodedError('CONFIG_INVALID', `${file}: ${messageOf(err)}`);
  }
}
