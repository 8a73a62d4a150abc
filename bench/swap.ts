// `node bench/swap.ts [--json] [--quick]`: what a slot swap costs the app's users, next to the
// app's own cold start measured in the same run, with an HTTP prober every 20 ms:
//   (a) downtime of a good swap A→B, (b) time from the failed verdict to the old version answering,
//   plus the supervisor's idle RSS and CPU.
// Targets: downtime ≤ cold start + 300 ms; rollback ≤ cold start + 500 ms; idle RSS ≤ 60 MiB.
// The supervisor runs as on a device that has run before: `twinslot supervisor` with
// NODE_COMPILE_CACHE set as installer/systemd/twinslot-supervisor.service sets it, the cache
// filled by a discarded first start (a cold cache keeps Node's type stripper resident).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderTable } from '../common/table.ts';
import { SETTLE_DELAY_MS } from '../supervisor/lean-runtime.ts';
import { freePort, httpGet, install, makeDevice, startSupervisor, subscribe, teardown, type Device } from '../test/integration/supervisor/harness.ts';

const PROBE_MS = 20;
const APPS = join(import.meta.dirname, '..', 'test', 'fixtures', 'apps');

type Sample = { t: number; body: string | null };

/** Probes GET / every 20 ms until stopped; each sample is stamped when its answer (or failure) arrives. */
function startProber(port: number): { samples: Sample[]; stop(): void } {
  const samples: Sample[] = [];
  const timer = setInterval(() => {
    void httpGet(port).then((body) => samples.push({ t: Date.now(), body }));
  }, PROBE_MS);
  return { samples, stop: () => clearInterval(timer) };
}

async function coldStart(port: number): Promise<number> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [join(APPS, 'healthy-http.mjs')], { env: { ...process.env, PORT: String(port), APP_VERSION: 'cold' }, stdio: 'ignore' });
  const prober = startProber(port);
  while (!prober.samples.some((s) => s.body === 'cold')) await sleep(5);
  prober.stop();
  const first = prober.samples.find((s) => s.body === 'cold')?.t ?? t0;
  child.kill('SIGKILL');
  await sleep(100);
  return first - t0;
}

/** First answer of `version` at or after `after`. */
function firstAnswer(samples: Sample[], version: string, after: number): number {
  const t = samples.filter((s) => s.body === version && s.t >= after).sort((x, y) => x.t - y.t)[0]?.t;
  if (t === undefined) throw new Error(`${version} never answered`);
  return t;
}

/** Downtime: from the last answer of `from` to the first answer of `to`. */
function downtime(samples: Sample[], from: string, to: string): number {
  const firstTo = firstAnswer(samples, to, 0);
  const lastFrom = samples.filter((s) => s.body === from && s.t < firstTo).sort((x, y) => x.t - y.t).at(-1);
  if (!lastFrom) throw new Error(`${from} never answered before the swap`);
  return firstTo - lastFrom.t;
}

function procStats(pid: number): { cpuTicks: number; rssKiB: number; anonKiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  const anon = /^Anonymous:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
  return { cpuTicks: Number(fields[11]) + Number(fields[12]), rssKiB: Number(rss ?? 0), anonKiB: Number(anon ?? 0) };
}

/** The environment the systemd unit gives the supervisor, rooted in the device's temp root. */
function unitEnv(root: string): Record<string, string> {
  return { NODE_COMPILE_CACHE: join(root, 'var', 'lib', 'twinslot', 'cache', 'supervisor') };
}

// A first start fills the compile cache (the supervisor flushes it once started); stopped cleanly.
async function warmUp(device: Device): Promise<void> {
  const sup = await startSupervisor(device, { env: unitEnv(device.root) });
  sup.child.kill('SIGTERM');
  const { code } = await sup.exited;
  if (code !== 0) throw new Error(`warm-up supervisor exited with ${code}`);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, quick: { type: 'boolean' } } });
  const rounds = values.quick ? 1 : 3;
  // Device-like settings for the idle figures: a 30 s watchdog (a pet every 10 s), probes every 2 s.
  const device = makeDevice({ health: { startTimeoutSeconds: 30, probationSeconds: 1 }, supervisor: { watchdog: { device: 'recording', timeoutSeconds: 30, maxLagMs: 2000 } } });
  const goodHealth = { http: { url: '', intervalMs: 2000, timeoutMs: 1000, failureThreshold: 3 } };
  await warmUp(device);
  const sup = await startSupervisor(device, { env: unitEnv(device.root) });
  try {
    const client = await sup.client();
    const events = await subscribe(client);
    const port = await freePort();
    const cold: number[] = [];
    const swaps: number[] = [];
    const rollbacks: number[] = [];
    goodHealth.http.url = `http://127.0.0.1:${port}/health`;
    await client.request('activate', { slot: await install(client, device.paths, { fixture: 'healthy-http.mjs', version: '1.0.0', port, health: goodHealth }), jobId: 'base' });
    await events.next('committed');
    let current = '1.0.0';
    for (let r = 0; r < rounds; r++) {
      cold.push(await coldStart(await freePort()));
      const next = `1.${r + 1}.0`;
      const slot = await install(client, device.paths, { fixture: 'healthy-http.mjs', version: next, port, health: goodHealth });
      const prober = startProber(port);
      while (!prober.samples.some((s) => s.body === current)) await sleep(5); // the old version is seen answering
      await client.request('activate', { slot, jobId: `swap-${r}` });
      await events.next('committed');
      prober.stop();
      swaps.push(downtime(prober.samples, current, next));
      current = next;

      const bad = `9.${r}.0`;
      const badSlot = await install(client, device.paths, { fixture: 'healthy-then-unhealthy.mjs', version: bad, port, env: { UNHEALTHY_AFTER_MS: '300' }, health: { probationSeconds: 30 } });
      const seen = sup.logs.length;
      const rbProber = startProber(port);
      await client.request('activate', { slot: badSlot, jobId: `bad-${r}` });
      await events.next('rolled-back');
      const verdict = sup.logs.slice(seen).find((l) => l.event === 'health-verdict' && l.state === 'unhealthy');
      if (!verdict) throw new Error('no unhealthy verdict logged');
      const verdictAt = Date.parse(String(verdict.time));
      while (!rbProber.samples.some((s) => s.body === current && s.t >= verdictAt)) await sleep(10);
      rbProber.stop();
      rollbacks.push(firstAnswer(rbProber.samples, current, verdictAt) - verdictAt);
    }
    client.close();

    const pid = sup.child.pid ?? 0;
    // Idle: after the supervisor's post-trial memory settle (supervisor/lean-runtime.ts).
    await sleep(SETTLE_DELAY_MS + 2000);
    const a = procStats(pid);
    const t0 = performance.now();
    await sleep(values.quick ? 5000 : 10_000);
    const b = procStats(pid);
    const idleCpuPct = ((b.cpuTicks - a.cpuTicks) / 100 / ((performance.now() - t0) / 1000)) * 100;
    const result = {
      rounds,
      coldStartMs: median(cold),
      swapDowntimeMs: median(swaps),
      rollbackMs: median(rollbacks),
      swapTargetMs: median(cold) + 300,
      rollbackTargetMs: median(cold) + 500,
      idleRssMiB: b.rssKiB / 1024,
      idleAnonMiB: b.anonKiB / 1024,
      idleCpuPercent: idleCpuPct,
      pass: { swap: median(swaps) <= median(cold) + 300, rollback: median(rollbacks) <= median(cold) + 500, rss: b.rssKiB / 1024 <= 60 },
      samples: { coldStartMs: cold, swapDowntimeMs: swaps, rollbackMs: rollbacks },
    };
    const f = (n: number): string => n.toFixed(0);
    process.stdout.write('supervisor as the systemd unit runs it: NODE_COMPILE_CACHE set and warm, recording watchdog, V8 flags of supervisor/lean-runtime.ts\n');
    process.stdout.write(renderTable(['measure', 'value', 'target', 'ok'], [
      ['app cold start (ms)', f(result.coldStartMs), '', ''],
      ['swap downtime A→B (ms)', f(result.swapDowntimeMs), `≤ ${f(result.swapTargetMs)}`, result.pass.swap ? 'yes' : 'NO'],
      ['failed verdict → old answers (ms)', f(result.rollbackMs), `≤ ${f(result.rollbackTargetMs)}`, result.pass.rollback ? 'yes' : 'NO'],
      ['supervisor idle RSS (MiB)', result.idleRssMiB.toFixed(1), '≤ 60', result.pass.rss ? 'yes' : 'NO'],
      ['  of which anonymous (MiB)', result.idleAnonMiB.toFixed(1), '', ''],
      ['supervisor idle CPU (%)', result.idleCpuPercent.toFixed(2), '', ''],
    ], ['left', 'right', 'right', 'left']));
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await teardown(device, sup);
  }
}

await main();
