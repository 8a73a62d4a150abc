// Who could still change a slot's files after the supervisor took the slot: a process that
// kept a file open for writing, or mapped it shared and writable, from before the slot was
// re-owned (permissions are checked at open, never again). Found through /proc, which root
// reads for every process: each fd's target and access mode, and each shared writable mapping.

import { readdir, readFile, readlink } from 'node:fs/promises';

export interface SlotWriter {
  pid: number;
  /** The file it can write, as the kernel names it. */
  path: string;
  how: 'open for writing' | 'mapped shared and writable';
}

const O_ACCMODE = 0o3;

/**
 * Every process that can still write a file under `dir`, but root's own (root is trusted; this
 * also skips kernel threads, which hold no files).
 */
export async function slotWriters(dir: string, procDir = '/proc'): Promise<SlotWriter[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const found: SlotWriter[] = [];
  const pids = (await readdir(procDir).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  for (const name of pids) {
    const pid = Number(name);
    if (await rootOnly(procDir, pid)) continue;
    found.push(...(await openForWriting(procDir, pid, prefix)), ...(await sharedWritableMaps(procDir, pid, prefix)));
  }
  return found;
}

async function openForWriting(procDir: string, pid: number, prefix: string): Promise<SlotWriter[]> {
  const fds = await readdir(`${procDir}/${pid}/fd`).catch(() => [] as string[]); // gone, or a kernel thread
  const out: SlotWriter[] = [];
  for (const fd of fds) {
    const target = await readlink(`${procDir}/${pid}/fd/${fd}`).catch(() => '');
    if (!target.startsWith(prefix)) continue;
    const info = await readFile(`${procDir}/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
    const flags = /^flags:\s+([0-7]+)/m.exec(info)?.[1];
    // Unknown flags (the fd closed meanwhile) count as harmless; a closed fd writes nothing.
    if (flags !== undefined && (parseInt(flags, 8) & O_ACCMODE) !== 0) out.push({ pid, path: target, how: 'open for writing' });
  }
  return out;
}

async function sharedWritableMaps(procDir: string, pid: number, prefix: string): Promise<SlotWriter[]> {
  const maps = await readFile(`${procDir}/${pid}/maps`, 'utf8').catch(() => '');
  const out: SlotWriter[] = [];
  for (const line of maps.split('\n')) {
    // address perms offset dev inode path
    const m = /^\S+\s+(\S{4})\s+\S+\s+\S+\s+\d+\s+(.*)$/.exec(line);
    const perms = m?.[1];
    const path = m?.[2]?.trim() ?? '';
    if (perms !== undefined && perms[1] === 'w' && perms[3] === 's' && path.startsWith(prefix)) out.push({ pid, path, how: 'mapped shared and writable' });
  }
  return out;
}

// Real, effective, saved and filesystem uid all 0 (from status: the owner of /proc/<pid> would
// read as root for a process that made itself non-dumpable). A process gone meanwhile holds nothing.
async function rootOnly(procDir: string, pid: number): Promise<boolean> {
  const status = await readFile(`${procDir}/${pid}/status`, 'utf8').catch(() => null);
  if (status === null) return true;
  const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
  return uids !== null && uids.slice(1).every((u) => u === '0');
}
