// cgroup v2 set-up decisions on a stand-in hierarchy in a temp dir (plain files where the kernel
// has control files): where the mount and the supervisor's cgroup are found, which base the app
// instances get, the move into the supervisor's leaf, the controllers enabled for a limit or the
// warning when one is missing, the names of instances after leftovers, and the limit writes.
// The real kernel side runs in test/integration/supervisor/runner-containment.test.ts.

import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Cgroup, cgroupDirectory, findCgroup2Mount, unifiedCgroupPath } from '../../../supervisor/runner/cgroup.ts';
import { applyLimits, setupCgroupTree } from '../../../supervisor/runner/cgroup-tree.ts';

const HYBRID = [
  '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

describe('cgroup v2: finding it', () => {
  it('finds the cgroup2 mount of a hybrid layout, not a v1 one', () => {
    assert.deepEqual(findCgroup2Mount(HYBRID), { root: '/', mountPoint: '/sys/fs/cgroup/unified' });
  });

  it('says there is none when only cgroup v1 is mounted', () => {
    assert.equal(findCgroup2Mount(HYBRID.split('\n').slice(0, 2).join('\n')), null);
  });

  it('unescapes a mount point with a space, and keeps a namespaced root', () => {
    const m = findCgroup2Mount('41 30 0:37 /lxc/c1 /mnt/cg\\040two rw - cgroup2 cgroup2 rw');
    assert.deepEqual(m, { root: '/lxc/c1', mountPoint: '/mnt/cg two' });
    assert.ok(m);
    assert.equal(cgroupDirectory(m, '/lxc/c1/sub'), '/mnt/cg two/sub');
    assert.equal(cgroupDirectory(m, '/lxc/c1'), '/mnt/cg two');
    assert.equal(cgroupDirectory(m, '/lxc/c10'), null, 'a sibling with a longer name is not inside');
  });

  it('reads the 0:: line of /proc/self/cgroup', () => {
    assert.equal(unifiedCgroupPath('4:memory:/x\n0::/system.slice/twinslot-supervisor.service\n'), '/system.slice/twinslot-supervisor.service');
    assert.equal(unifiedCgroupPath('4:memory:/x\n'), null);
  });
});

// A stand-in cgroup directory with its control files.
function fakeCgroup(dir: string, files: { controllers?: string; subtree?: string; events?: boolean } = {}): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cgroup.procs'), '');
  writeFileSync(join(dir, 'cgroup.controllers'), files.controllers ?? '');
  writeFileSync(join(dir, 'cgroup.subtree_control'), files.subtree ?? '');
  if (files.events !== false) writeFileSync(join(dir, 'cgroup.events'), 'populated 0\nfrozen 0\n');
}

function fakeHierarchy(): { mount: string; mountinfo: string } {
  const mount = mkdtempSync(join(tmpdir(), 'twinslot-cgfake-'));
  after(() => rmSync(mount, { recursive: true, force: true }));
  fakeCgroup(mount, { controllers: 'cpu memory pids', events: false }); // the hierarchy's root has no cgroup.events
  return { mount, mountinfo: `40 30 0:37 / ${mount} rw,relatime - cgroup2 cgroup2 rw` };
}

const UNIT = '/system.slice/twinslot-supervisor.service';
const NO_LIMITS = { memoryMax: null, cpuWeight: null };

describe('cgroup v2: the supervisor\'s subtree', () => {
  it('in a unit\'s cgroup: moves itself into <unit>/supervisor and makes instances beside it', () => {
    const { mount, mountinfo } = fakeHierarchy();
    const unit = join(mount, UNIT);
    fakeCgroup(unit, { controllers: 'cpu memory' });
    fakeCgroup(join(unit, 'supervisor')); // the kernel makes its files at mkdir; the stand-in needs them made
    const setup = setupCgroupTree({ limits: NO_LIMITS, pid: 4242, mountinfo, procCgroup: `0::${UNIT}\n` });
    assert.ok(setup.ok, JSON.stringify(setup));
    assert.equal(setup.tree.base.dir, unit);
    assert.equal(readFileSync(join(unit, 'supervisor', 'cgroup.procs'), 'utf8'), '4242');
    assert.equal(setup.tree.makeInstance('a').dir, join(unit, 'app-a-1'));
    assert.equal(setup.tree.makeInstance('b').dir, join(unit, 'app-b-2'));
  });

  it('already in <unit>/supervisor (DelegateSubgroup=supervisor, a restart): the unit stays the base, nothing moves', () => {
    const { mount, mountinfo } = fakeHierarchy();
    const unit = join(mount, UNIT);
    fakeCgroup(unit);
    fakeCgroup(join(unit, 'supervisor'));
    const setup = setupCgroupTree({ limits: NO_LIMITS, pid: 4242, mountinfo, procCgroup: `0::${UNIT}/supervisor\n` });
    assert.ok(setup.ok);
    assert.equal(setup.tree.base.dir, unit);
    assert.equal(readFileSync(join(unit, 'supervisor', 'cgroup.procs'), 'utf8'), '');
  });

  it('in the hierarchy\'s root (no service manager): uses <root>/twinslot and enables a limit\'s controller on the way', () => {
    const { mount, mountinfo } = fakeHierarchy();
    const setup = setupCgroupTree({ limits: { memoryMax: 64 * 1024 ** 2, cpuWeight: null }, pid: 4242, mountinfo, procCgroup: '0::/\n' });
    // mkdir of <root>/twinslot made a plain directory: its enable fails like a missing controller would.
    assert.ok(setup.ok);
    assert.equal(setup.tree.base.dir, join(mount, 'twinslot'));
    assert.equal(readFileSync(join(mount, 'cgroup.subtree_control'), 'utf8'), '+memory');
    assert.equal(setup.tree.limits.memoryMax, null);
    assert.match(setup.tree.warnings.join(), /app\.memoryMax is not applied/);
  });

  it('enables memory and cpu in the base for the limits, and names a missing controller in a warning', () => {
    const { mount, mountinfo } = fakeHierarchy();
    const unit = join(mount, UNIT);
    fakeCgroup(unit, { controllers: 'memory pids' });
    fakeCgroup(join(unit, 'supervisor'));
    const setup = setupCgroupTree({ limits: { memoryMax: 128 * 1024 ** 2, cpuWeight: 50 }, pid: 1, mountinfo, procCgroup: `0::${UNIT}\n` });
    assert.ok(setup.ok);
    assert.equal(readFileSync(join(unit, 'cgroup.subtree_control'), 'utf8'), '+memory');
    assert.deepEqual(setup.tree.limits, { memoryMax: 128 * 1024 ** 2, cpuWeight: null });
    assert.deepEqual(setup.tree.warnings, [`app.cpuWeight is not applied: the cpu controller is not available in ${unit} (cgroup.controllers: memory pids)`]);
  });

  it('removes empty instance cgroups left by a killed supervisor, keeps populated ones, and names new ones past them', () => {
    const { mount, mountinfo } = fakeHierarchy();
    const unit = join(mount, UNIT);
    fakeCgroup(unit);
    fakeCgroup(join(unit, 'supervisor'));
    mkdirSync(join(unit, 'app-a-3'));
    fakeCgroup(join(unit, 'app-b-7')); // not empty: rmdir refuses, as the kernel refuses a populated cgroup
    mkdirSync(join(unit, 'unrelated'));
    const setup = setupCgroupTree({ limits: NO_LIMITS, pid: 1, mountinfo, procCgroup: `0::${UNIT}\n` });
    assert.ok(setup.ok);
    assert.equal(existsSync(join(unit, 'app-a-3')), false);
    assert.equal(existsSync(join(unit, 'app-b-7')), true);
    assert.equal(existsSync(join(unit, 'unrelated')), true, 'only instance cgroups are touched');
    assert.equal(setup.tree.makeInstance('a').name, 'app-a-8');
  });

  it('says why when cgroup v2 is not mounted or the supervisor\'s cgroup is outside the mount', () => {
    assert.deepEqual(setupCgroupTree({ limits: NO_LIMITS, pid: 1, mountinfo: HYBRID.split('\n').slice(0, 2).join('\n'), procCgroup: '0::/\n' }), { ok: false, reason: 'cgroup v2 is not mounted' });
    const nsMount = '41 30 0:37 /lxc/c1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw';
    const outside = setupCgroupTree({ limits: NO_LIMITS, pid: 1, mountinfo: nsMount, procCgroup: '0::/other\n' });
    assert.equal(outside.ok, false);
  });

  it('applyLimits writes memory.max, memory.oom.group and cpu.weight', () => {
    const { mount } = fakeHierarchy();
    const dir = join(mount, 'app-a-1');
    fakeCgroup(dir);
    for (const f of ['memory.max', 'memory.oom.group', 'cpu.weight']) writeFileSync(join(dir, f), ''); // r+ does not truncate a plain file (the kernel's files take each write whole)
    applyLimits(new Cgroup(dir), { memoryMax: 512 * 1024 ** 2, cpuWeight: 20 });
    assert.equal(readFileSync(join(dir, 'memory.max'), 'utf8'), String(512 * 1024 ** 2));
    assert.equal(readFileSync(join(dir, 'memory.oom.group'), 'utf8'), '1');
    assert.equal(readFileSync(join(dir, 'cpu.weight'), 'utf8'), '20');
  });

  it('a control file that is not there is an error, never a file created', () => {
    const { mount } = fakeHierarchy();
    const dir = join(mount, 'plain');
    mkdirSync(dir);
    assert.throws(() => new Cgroup(dir).write('cgroup.kill', '1'), { code: 'ENOENT' });
    assert.equal(existsSync(join(dir, 'cgroup.kill')), false);
  });
});
