// Builds a staged linux-x64 release once per test file with the real `twinslot release` command.

import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO = resolve(import.meta.dirname, '..', '..', '..');
const CLI = join(REPO, 'cli', 'main.ts');

export interface Staged {
  out: string;
  /** The release directory (what the tarball unpacks to). */
  dir: string;
  tarball: string | null;
}

/** Runs `twinslot release --arch x64` into a temp dir (stage only unless `archive`). */
export async function buildX64(archive: boolean): Promise<Staged> {
  const out = await mkdtemp(join(tmpdir(), 'twinslot-release-'));
  const args = [CLI, 'release', '--arch', 'x64', '--out', out, '--json', ...(archive ? ['--keep-stage'] : ['--stage-only'])];
  const { stdout } = await run(process.execPath, args, { cwd: REPO, maxBuffer: 8 * 1024 * 1024 });
  const [built] = JSON.parse(stdout) as { dir: string; tarball: string | null }[];
  if (!built) throw new Error(`release printed nothing: ${stdout}`);
  return { out, dir: built.dir, tarball: built.tarball };
}
