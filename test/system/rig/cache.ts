// The rig's build cache: every artefact lives under test/system/.cache/<kind>-<key>/, where the
// key hashes all of the artefact's inputs, so a changed input builds anew and an unchanged one
// is reused across runs (CI keeps the folder between runs of the same machine).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/system/.cache, beside the rig. */
export const CACHE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '.cache');

/** Bump when the way an artefact is built changes without its inputs changing. */
export const RIG_VERSION = 'rig-3';

/** A short hex key over strings (file digests, versions, script texts). */
export function keyOf(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** sha256 of a file's content, streamed. */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

// INVARIANTS
// - One entry per kind (`<kind>-<16 hex key>`): a new entry removes the older ones of its kind,
//   so edits to the sources do not pile up payload images. A VM still using a removed image
//   keeps reading it (Linux frees the file when its last descriptor closes).
// - An entry directory exists only once complete: it is built in `<dir>.tmp-<pid>` and renamed,
//   so a build killed half-way is rebuilt, never reused.
/** The directory of entry `name`, built by `build(dir)` the first time it is asked for. */
export async function cachedDir(name: string, build: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(CACHE_DIR, name);
  if (await exists(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await build(tmp);
    await rename(tmp, dir);
    await pruneKind(name);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (await exists(dir)) return dir; // another process finished the same entry first
    throw err;
  }
  return dir;
}

async function pruneKind(name: string): Promise<void> {
  const kind = /^(.*)-[0-9a-f]{16}$/.exec(name)?.[1];
  if (!kind) return;
  for (const entry of await readdir(CACHE_DIR)) {
    if (entry !== name && new RegExp(`^${kind}-[0-9a-f]{16}$`).test(entry)) {
      await rm(join(CACHE_DIR, entry), { recursive: true, force: true });
    }
  }
}
