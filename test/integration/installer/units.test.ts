// The systemd units' sandboxes: `systemd-analyze security --offline=yes --threshold=` holds each
// unit at or under its exposure budget (supervisor 4.5, agent 2.5), and the settings the
// supervisor depends on (a delegated cgroup, its capabilities, the watchdog, reboot) stay.

import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './release-helper.ts';

const UNITS = { 'twinslot-supervisor.service': 45, 'twinslot-agent.service': 25 } as const;
let dir: string;

before(async () => {
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) throw new Error('systemd-analyze is missing (Debian package systemd)');
  dir = await mkdtemp(join(tmpdir(), 'twinslot-units-'));
  for (const unit of Object.keys(UNITS)) {
    const text = await readFile(join(REPO, 'installer', 'systemd', unit), 'utf8');
    await writeFile(join(dir, unit), text.replaceAll('@PREFIX@', '/opt/twinslot')); // as install.sh does
  }
});
after(() => rm(dir, { recursive: true, force: true }));

/** Lines of `Key=value` in `unit` for `key`. */
async function settings(unit: string, key: string): Promise<string[]> {
  const text = await readFile(join(dir, unit), 'utf8');
  return text.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

for (const [unit, threshold] of Object.entries(UNITS)) {
  test(`${unit}: systemd-analyze security exposure is at most ${threshold / 10}`, () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', `--threshold=${threshold}`, '--no-pager', join(dir, unit)], { encoding: 'utf8' });
    const level = /Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout)?.[1];
    assert.ok(level !== undefined, `no exposure level printed: ${r.stdout.slice(-500)} ${r.stderr}`);
    assert.equal(r.status, 0, `exposure ${level} is above ${threshold / 10}:\n${r.stdout.split('\n').filter((l) => l.startsWith('✗')).join('\n')}`);
    assert.ok(Number(level) * 10 <= threshold);
  });
}

test('the supervisor keeps its delegated cgroup, its capabilities, the watchdog and reboot(2)', async () => {
  const unit = 'twinslot-supervisor.service';
  assert.deepEqual(await settings(unit, 'Delegate'), ['yes']);
  assert.deepEqual(await settings(unit, 'KillMode'), ['mixed']);
  assert.deepEqual(await settings(unit, 'ProtectControlGroups'), [], 'read-only /sys/fs/cgroup would take the delegated cgroup away');
  assert.deepEqual((await settings(unit, 'CapabilityBoundingSet')).join(' ').split(' ').sort(),
    ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SYS_BOOT']);
  assert.deepEqual(await settings(unit, 'DeviceAllow'), ['/dev/watchdog rw', 'char-watchdog rw']);
  assert.match((await settings(unit, 'SystemCallFilter')).join(' '), /@system-service.*@reboot/);
  assert.deepEqual(await settings(unit, 'MemoryDenyWriteExecute'), [], 'V8 needs writable executable memory for its JIT');
});

test('both units pass systemd-analyze verify (no unknown or misspelt settings)', () => {
  const units = Object.keys(UNITS).map((u) => join(dir, u));
  const r = spawnSync('systemd-analyze', ['verify', ...units], { encoding: 'utf8' });
  // The launcher is not installed here; everything else systemd complains about is a defect.
  const complaints = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/Command \/opt\/twinslot\/current\/bin\/twinslot is not executable/.test(l));
  assert.deepEqual(complaints, []);
});
