// Running the emulator in the background: `emulator start` launches `emulator start
// --foreground` detached and waits for its `emulator.json`; `stop` signals that pid.

import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CodedError, isErrno } from '../../common/errors.ts';
import { systemClock } from '../../common/clock.ts';
import type { EmulatorInfo } from '../emulator.ts';

/** The runtime info of the emulator in `dir`, when its file exists. */
export async function readInfo(dir: string): Promise<EmulatorInfo | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'emulator.json'), 'utf8')) as EmulatorInfo;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** True when a process with `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
}

/** Starts `node <mainScript> emulator start --foreground ...args` detached; resolves with its info. */
export async function startDetached(mainScript: string, dir: string, args: string[], timeoutMs = 60_000): Promise<EmulatorInfo> {
  const log = openSync(join(dir, 'emulator.log'), 'a');
  const child = spawn(process.execPath, [mainScript, 'emulator', 'start', '--foreground', '--dir', dir, ...args], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new CodedError('EMULATOR_START_FAILED', 'could not start the emulator process');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const info = await readInfo(dir);
    if (info?.pid === pid) return info;
    if (!alive(pid)) break;
    await systemClock.sleep(100);
  }
  if (alive(pid)) process.kill(pid, 'SIGTERM');
  throw new CodedError('EMULATOR_START_FAILED', `the emulator did not start; see ${join(dir, 'emulator.log')}`);
}

/** Sends SIGTERM to the emulator of `dir` and waits for it to exit; false when none ran. */
export async function stopDetached(dir: string, timeoutMs = 30_000): Promise<boolean> {
  const info = await readInfo(dir);
  if (!info || !alive(info.pid)) return false;
  process.kill(info.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive(info.pid)) {
    if (Date.now() > deadline) {
      process.kill(info.pid, 'SIGKILL');
      break;
    }
    await systemClock.sleep(100);
  }
  return true;
}
