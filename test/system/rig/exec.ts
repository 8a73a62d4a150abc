// Host commands the rig runs to build its images (apt-get, dpkg-deb, modinfo, cpio, mkfs.ext4).

import { execa } from 'execa';
import { CodedError } from '../../../common/errors.ts';

/** Runs `file args` and returns its stdout; a failure carries the command and its stderr. */
export async function run(file: string, args: string[], options: { cwd?: string; input?: Buffer | string } = {}): Promise<string> {
  const result = await execa(file, args, { ...options, reject: false, encoding: 'utf8', stripFinalNewline: true });
  if (result.exitCode !== 0 || result.failed) {
    throw new CodedError('RIG_COMMAND_FAILED', `${file} ${args.join(' ')} failed (${result.exitCode ?? result.signal ?? '?'}): ${String(result.stderr).slice(-2000)}`);
  }
  return String(result.stdout);
}
