// The demo's one system requirement: the `mosquitto` binary (the emulator's broker). Found on
// PATH or in the sbin directories Debian puts it in (not on a normal user's PATH); missing, it
// is installed with apt-get when running as root, or the exact command is printed.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CodedError } from '../common/errors.ts';

export const INSTALL_LINE = 'sudo apt-get install -y mosquitto';
const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/** The directory holding an executable `mosquitto`, searching `path` and then sbin; undefined when absent. */
export function findMosquitto(path: string): string | undefined {
  for (const dir of [...path.split(delimiter).filter(Boolean), ...SBIN]) {
    try {
      accessSync(join(dir, 'mosquitto'), constants.X_OK);
      return dir;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface EnsureOptions {
  env: NodeJS.ProcessEnv;
  isRoot: boolean;
  /** Where apt-get's output goes (it takes a while; the user should see it). */
  log: NodeJS.WritableStream;
}

/** Returns the directory of `mosquitto`, installing it as root; throws MOSQUITTO_MISSING otherwise. */
export async function ensureMosquitto(opts: EnsureOptions): Promise<string> {
  const found = findMosquitto(opts.env['PATH'] ?? '');
  if (found) return found;
  if (!opts.isRoot) {
    throw new CodedError('MOSQUITTO_MISSING', `the demo needs Mosquitto (the emulator's MQTT broker). Install it with:\n\n  ${INSTALL_LINE}\n`);
  }
  opts.log.write('Mosquitto is missing; installing it: apt-get install -y mosquitto\n');
  let code = await aptGet(['install', '-y', '--no-install-recommends', 'mosquitto'], opts);
  if (code !== 0) {
    // A fresh machine may have no package lists yet.
    await aptGet(['update'], opts);
    code = await aptGet(['install', '-y', '--no-install-recommends', 'mosquitto'], opts);
  }
  const installed = findMosquitto(opts.env['PATH'] ?? '');
  if (code !== 0 || !installed) throw new CodedError('MOSQUITTO_INSTALL_FAILED', `apt-get install mosquitto failed (exit ${code}); try: ${INSTALL_LINE}`);
  return installed;
}

async function aptGet(args: string[], opts: EnsureOptions): Promise<number> {
  const child = spawn('apt-get', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...opts.env, DEBIAN_FRONTEND: 'noninteractive' } });
  child.stdout.pipe(opts.log, { end: false });
  child.stderr.pipe(opts.log, { end: false });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code ?? 1;
}
