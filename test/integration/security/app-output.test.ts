// Attack: the app (the real unprivileged app user) floods its stdout to grow or stall the
// supervisor — 200 MiB without a newline, and two-byte lines flat out. Throughout, the
// supervisor's resident memory (VmRSS in /proc/<pid>/status) stays under 100 MiB and it answers
// IPC `status`; the log shows the flood truncated and counted, not kept.

import { strict as assert } from 'node:assert';
import { chmodSync, readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { testUsers } from '../../helpers/users.ts';
import { committedDevice, startSupervisor, teardown, type RunningSupervisor } from '../supervisor/harness.ts';

const ROOT = process.getuid?.() === 0;
const users = ROOT ? testUsers() : null;
const MIB = 1024 * 1024;
const RSS_LIMIT = 100 * MIB;
const STATUS_DEADLINE_MS = 5000;

function rss(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  assert.ok(kib !== undefined, 'VmRSS readable');
  return Number(kib) * 1024;
}

async function floodedSupervisor(t: TestContext, env: Record<string, string>): Promise<RunningSupervisor> {
  assert.ok(users);
  const { device } = committedDevice({ supervisor: { allowRootApps: false }, app: { user: users.app.name, allowedUsers: [users.app.name] } }, 'floods-output.mjs', env);
  chmodSync(device.root, 0o755);
  const holder: { sup: RunningSupervisor | null } = { sup: null };
  t.after(() => teardown(device, holder.sup));
  holder.sup = await startSupervisor(device);
  return holder.sup;
}

interface Watch {
  firstRss: number;
  maxRss: number;
  statusAnswers: number;
  slowestStatusMs: number;
}

// Samples the supervisor's RSS and asks `status` every 200 ms until `done()` or the deadline.
async function watch(t: TestContext, sup: RunningSupervisor, done: () => boolean, deadlineMs: number): Promise<Watch> {
  const pid = sup.child.pid;
  assert.ok(pid !== undefined);
  const client = await sup.client();
  const first = rss(pid);
  const w: Watch = { firstRss: first, maxRss: first, statusAnswers: 0, slowestStatusMs: 0 };
  const until = Date.now() + deadlineMs;
  while (!done() && Date.now() < until) {
    const asked = Date.now();
    const answer = await Promise.race([client.request('status'), sleep(STATUS_DEADLINE_MS).then(() => null)]);
    assert.ok(answer !== null, `status unanswered for ${STATUS_DEADLINE_MS} ms during the flood`);
    w.statusAnswers += 1;
    w.slowestStatusMs = Math.max(w.slowestStatusMs, Date.now() - asked);
    w.maxRss = Math.max(w.maxRss, rss(pid));
    assert.ok(w.maxRss < RSS_LIMIT, `supervisor RSS ${(w.maxRss / MIB).toFixed(1)} MiB during the flood`);
    await sleep(200);
  }
  client.close();
  t.diagnostic(`supervisor: RSS ${(w.firstRss / MIB).toFixed(1)} MiB at the first sample, at most ${(w.maxRss / MIB).toFixed(1)} MiB; ${w.statusAnswers} status answers, slowest ${w.slowestStatusMs} ms`);
  return w;
}

const outputBytes = (sup: RunningSupervisor): number => sup.logs.reduce((sum, l) => {
  if (l['event'] === 'app-output-dropped') return sum + Number(l['bytes']);
  if (l['event'] === 'app-output') return sum + Buffer.byteLength(String(l['line'])) + (l['truncated'] === true ? 0 : 1);
  return sum;
}, 0);

describe('app output cannot grow or stall the supervisor', { skip: ROOT ? false : 'needs root (the app runs as the app user)', timeout: 180_000 }, () => {
  it('200 MiB without a newline', async (t) => {
    const bytes = 200 * MIB;
    const sup = await floodedSupervisor(t, { FLOOD: 'no-newline', FLOOD_BYTES: String(bytes) });
    const w = await watch(t, sup, () => outputBytes(sup) >= bytes, 120_000);
    assert.ok(outputBytes(sup) >= bytes, `all ${bytes} bytes were read (forwarded or counted): ${outputBytes(sup)}`);
    assert.ok(w.statusAnswers > 0);
    const pieces = sup.logs.filter((l) => l['event'] === 'app-output' && l['truncated'] === true);
    assert.ok(pieces.length > 0 && pieces.every((l) => Buffer.byteLength(String(l['line'])) <= 16 * 1024), 'the line went out in pieces of 16 KiB at most');
  });

  it('two-byte lines flat out for ten seconds', async (t) => {
    const sup = await floodedSupervisor(t, { FLOOD: 'lines', FLOOD_MS: '10000' });
    await sup.waitLog('app-output', (l) => l['line'] === 'y');
    const started = Date.now();
    const w = await watch(t, sup, () => Date.now() - started > 11_000, 60_000);
    assert.ok(w.statusAnswers > 10);
    const dropped = sup.logs.filter((l) => l['event'] === 'app-output-dropped').reduce((n, l) => n + Number(l['lines']), 0);
    const forwarded = sup.logs.filter((l) => l['event'] === 'app-output').length;
    t.diagnostic(`lines forwarded ${forwarded}, dropped and counted ${dropped}`);
    assert.ok(dropped > forwarded, 'the flood is counted, not forwarded');
    assert.ok(forwarded < 1000 + 100 * 15, `forwarded lines stay within the burst and the rate: ${forwarded}`);
  });
});
