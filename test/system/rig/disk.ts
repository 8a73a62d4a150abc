// ext4 images made on the host from a directory (mkfs.ext4 -d): no loop mounts, no root
// privileges beyond reading the files.

import { copyFile, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { run } from './exec.ts';

/** Makes `image` (sparse, `sizeMb` MiB) an ext4 filesystem holding a copy of `fromDir`. */
export async function makeExt4(image: string, fromDir: string, sizeMb: number, label: string): Promise<void> {
  await rm(image, { force: true });
  // -E root_owner: the root directory belongs to root whatever the host dir's owner is.
  await run('mkfs.ext4', ['-q', '-F', '-L', label, '-E', 'root_owner=0:0', '-d', fromDir, image, `${sizeMb}M`]);
}

/** A private copy of a cached image for one test (reflink or sparse copy where the fs allows). */
export async function copyImage(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  try {
    await copyFile(from, to, constants.COPYFILE_FICLONE);
  } catch {
    await run('cp', ['--sparse=always', from, to]);
  }
}
