// The slots' directories as the supervisor expects them at its start, before anything reads a
// slot: `slots/` a real directory, root's, writable by nobody else (a slot entry in it can then
// be replaced only by root), and `slots/a`, `slots/b` real directories. A device installed by an
// older twinslot had `slots/` owned by the agent: it is taken back here, on its fd. A slot entry
// that is not a directory (a symlink the agent planted there) goes to the trash and an empty
// directory replaces it; the slot's state then finds no manifest and refuses to run it.

import { mkdir } from 'node:fs/promises';
import { CodedError } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import { SLOT_NAMES, type DevicePaths } from '../slots/paths.ts';
import { lockDir, lstatEntry, typeOf, type Owner } from './slot-walk.ts';
import { emptyTrash, moveToTrash } from './slot-ops.ts';

/** Checks and repairs the slot directories; throws SLOT_LAYOUT_INVALID where it must not go on. */
export async function checkSlotLayout(paths: DevicePaths, owner: Owner, logger: Logger): Promise<void> {
  await mkdir(paths.libDir, { recursive: true, mode: 0o755 });
  const lib = await lstatEntry(paths.libDir, (what) => layout(paths.libDir, what));
  if (!lib.isDirectory()) throw layout(paths.libDir, `is a ${typeOf(lib)}, not a directory`);
  if (owner.asRoot && (lib.uid !== 0 || (lib.mode & 0o022) !== 0)) {
    throw layout(paths.libDir, `must be root's and writable only by root (owner uid ${lib.uid}, mode ${(lib.mode & 0o7777).toString(8)})`);
  }
  await mkdir(paths.slotsDir, { mode: 0o755 }).catch(() => undefined);
  const before = await lstatEntry(paths.slotsDir, (what) => layout(paths.slotsDir, what));
  const slots = lockDir(paths.slotsDir, 0o755, owner, (what) => layout(paths.slotsDir, what));
  if (before.uid !== slots.uid) logger.warn({ event: 'slots-dir-reowned', path: paths.slotsDir, was: before.uid }, 'took slots/ back from its previous owner');
  for (const slot of SLOT_NAMES) {
    const dir = paths.slot(slot);
    const s = await lstatEntry(dir, () => layout(dir, 'missing')).catch(() => null);
    if (s !== null && !s.isDirectory()) {
      logger.error({ event: 'slot-not-a-directory', slot, type: typeOf(s) }, `slot ${slot} is a ${typeOf(s)}; moved to the trash`);
      await moveToTrash(paths, dir, slot, owner);
    }
    if (s === null || !s.isDirectory()) await mkdir(dir, { mode: 0o755 });
  }
  await emptyTrash(paths, owner, logger);
}

function layout(path: string, what: string): CodedError {
  return new CodedError('SLOT_LAYOUT_INVALID', `${path}: ${what}`, { path });
}
