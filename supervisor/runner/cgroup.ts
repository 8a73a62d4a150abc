// cgroup v2 through its filesystem (the kernel's Documentation/admin-guide/cgroup-v2.rst): where
// the hierarchy is mounted, which cgroup this process is in, and the operations on one cgroup the
// app runner needs. Control files are written without O_CREAT ('r+'): a directory that is not a
// cgroup fails the write instead of gaining a stray file.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isErrno } from '../../common/errors.ts';

/** A cgroup2 mount: where it is, and which cgroup of the hierarchy it shows there. */
export interface Cgroup2Mount {
  mountPoint: string;
  /** "/" unless the mount shows a subtree (a bind mount, a cgroup namespace's view). */
  root: string;
}

/** The first cgroup2 mount listed in /proc/<pid>/mountinfo's text, or null. */
export function findCgroup2Mount(mountinfo: string): Cgroup2Mount | null {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0 || line.slice(sep + 3).split(' ')[0] !== 'cgroup2') continue;
    const fields = line.slice(0, sep).split(' ');
    const [root, mountPoint] = [fields[3], fields[4]];
    if (root !== undefined && mountPoint !== undefined) return { root: unescapeOctal(root), mountPoint: unescapeOctal(mountPoint) };
  }
  return null;
}

/** The cgroup v2 path ("0::<path>") in /proc/<pid>/cgroup's text, or null. */
export function unifiedCgroupPath(procCgroup: string): string | null {
  const line = procCgroup.split('\n').find((l) => l.startsWith('0::'));
  const path = line?.slice(3);
  return path !== undefined && path.startsWith('/') && !path.endsWith(' (deleted)') ? path : null;
}

/** The directory of cgroup `path` under `mount`, or null when the mount does not show it. */
export function cgroupDirectory(mount: Cgroup2Mount, path: string): string | null {
  const root = mount.root.replace(/\/$/, '');
  if (path !== mount.root && !path.startsWith(`${root}/`)) return null;
  return join(mount.mountPoint, path.slice(root.length));
}

// mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134.
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** One cgroup directory. */
export class Cgroup {
  readonly dir: string;
  readonly #useKillFile: boolean;

  /** `useKillFile: false` kills through the freezer even where cgroup.kill exists (its tests). */
  constructor(dir: string, opts: { useKillFile?: boolean } = {}) {
    this.dir = dir;
    this.#useKillFile = opts.useKillFile ?? true;
  }

  get name(): string {
    return basename(this.dir);
  }

  parent(): Cgroup {
    return new Cgroup(dirname(this.dir), { useKillFile: this.#useKillFile });
  }

  child(name: string): Cgroup {
    return new Cgroup(join(this.dir, name), { useKillFile: this.#useKillFile });
  }

  /** Makes the directory; false when it already existed. */
  make(): boolean {
    try {
      mkdirSync(this.dir);
      return true;
    } catch (err) {
      if (isErrno(err, 'EEXIST')) return false;
      throw err;
    }
  }

  exists(): boolean {
    return existsSync(join(this.dir, 'cgroup.procs'));
  }

  /** The hierarchy's root cgroup has no cgroup.events (and no no-internal-processes rule). */
  isHierarchyRoot(): boolean {
    return !existsSync(join(this.dir, 'cgroup.events'));
  }

  /** Pids of its processes; none when it is gone. */
  procs(): number[] {
    const text = this.#read('cgroup.procs');
    return text === null ? [] : text.split('\n').filter(Boolean).map(Number);
  }

  /** Any live process in it or below (cgroup.events); a cgroup that is gone is not populated. */
  populated(): boolean {
    return /^populated 1$/m.test(this.#read('cgroup.events') ?? '');
  }

  /** Controllers its parent grants it (cgroup.controllers). */
  controllers(): string[] {
    return (this.#read('cgroup.controllers') ?? '').trim().split(/\s+/).filter(Boolean);
  }

  /** Controllers enabled for its children (cgroup.subtree_control). */
  subtreeControl(): string[] {
    return (this.#read('cgroup.subtree_control') ?? '').trim().split(/\s+/).filter(Boolean);
  }

  /** Writes a control file that must exist (memory.max, cgroup.subtree_control, ...). */
  write(file: string, value: string): void {
    writeFileSync(join(this.dir, file), value, { flag: 'r+' });
  }

  /** Moves process `pid` (all its threads) into this cgroup. */
  move(pid: number): void {
    this.write('cgroup.procs', String(pid));
  }

  /**
   * SIGKILLs every process in it and below: cgroup.kill (Linux ≥ 5.14) in one step; else with
   * the cgroup frozen (≥ 5.2), so nothing forks while the list is read (a frozen process still
   * dies of SIGKILL); else the listed pids only (callers repeat until it is empty).
   */
  kill(): void {
    if (!this.exists()) return;
    if (this.#useKillFile && existsSync(join(this.dir, 'cgroup.kill'))) return this.write('cgroup.kill', '1');
    const freezer = existsSync(join(this.dir, 'cgroup.freeze'));
    if (freezer) this.write('cgroup.freeze', '1');
    try {
      this.#killListed(this);
    } finally {
      if (freezer) this.write('cgroup.freeze', '0');
    }
  }

  #killListed(cg: Cgroup): void {
    for (const pid of cg.procs()) signal(pid, 'SIGKILL');
    for (const name of cg.children()) this.#killListed(cg.child(name));
  }

  /** Sends `sig` to every process directly in it but those in `skip`. */
  signal(sig: NodeJS.Signals, skip: ReadonlySet<number> = new Set()): void {
    for (const pid of this.procs()) if (!skip.has(pid)) signal(pid, sig);
  }

  /** Removes it; true when it is gone, false while it still has processes or children. */
  remove(): boolean {
    try {
      rmdirSync(this.dir);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return true;
      if (isErrno(err, 'EBUSY') || isErrno(err, 'ENOTEMPTY')) return false;
      throw err;
    }
  }

  /** Names of its child cgroups; none when it is gone. */
  children(): string[] {
    try {
      return readdirSync(this.dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return [];
    }
  }

  #read(file: string): string | null {
    try {
      return readFileSync(join(this.dir, file), 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENODEV')) return null;
      throw err;
    }
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if (!isErrno(err, 'ESRCH')) throw err;
  }
}
