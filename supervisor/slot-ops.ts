// The file work behind `prepare-slot` and `slot-ready`: emptying the slot the agent will write,
// handing it to the agent's user, and reading back what the agent installed.

import { chown, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CodedError, isErrno, messageOf } from '../common/errors.ts';
import { fsyncDir } from '../common/durable-file.ts';
import type { Manifest } from '../bundle/manifest-types.ts';
import { manifestDigest, parseManifest } from '../bundle/manifest.ts';
import type { DevicePaths, SlotName } from '../slots/paths.ts';
import { userIds } from './ids.ts';

/** Empties `slot` (keeping the directory) and gives it to `agentUser` when running as root. */
export async function emptySlot(paths: DevicePaths, slot: SlotName, agentUser: string | null, isRoot: boolean): Promise<string> {
  const dir = paths.slot(slot);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const entry of await readdir(dir)) await rm(join(dir, entry), { recursive: true, force: true });
  await fsyncDir(dir);
  if (agentUser && isRoot) {
    const user = await userIds(agentUser);
    await chown(dir, user.uid, user.gid);
  }
  return dir;
}

export interface SlotContent {
  manifest: Manifest;
  manifestSha256: string;
}

/** The manifest a slot holds, checked; SLOT_MANIFEST_MISSING or SLOT_MANIFEST_INVALID otherwise. */
export async function readSlotManifest(paths: DevicePaths, slot: SlotName): Promise<SlotContent> {
  const file = join(paths.slot(slot), 'manifest.json');
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new CodedError('SLOT_MANIFEST_MISSING', `slot ${slot} has no manifest.json`, { slot });
    throw err;
  }
  try {
    return { manifest: parseManifest(bytes), manifestSha256: manifestDigest(bytes) };
  } catch (err) {
    throw new CodedError('SLOT_MANIFEST_INVALID', `slot ${slot}: ${messageOf(err)}`, { slot });
  }
}
