// What the supervisor runs is what was signed. At `slot-ready` it takes the slot away from the
// agent and checks it itself, as root, from fds: it does not take the agent's word for anything.
// At every start of a slot it checks that the slot is still sealed and still holds the manifest
// whose digest the state recorded.
//
// INVARIANTS
// - Order: lock the slot directory → read manifest.json and manifest.sig from fds → verify the
//   signature against the trust directory → lock every directory, file and symlink the manifest
//   lists, parents first (slot-walk.ts) → refuse anything the manifest does not list → refuse
//   while any process can still write a slot file → hash every file. After the lock nobody but
//   root can open a slot file for writing, and the writer check proves nobody still can, so the
//   hashes hold for what will run.
// - A refusal leaves the slot `installing`; nothing is recorded ready. The supervisor does not
//   undo the re-owning: the next prepare-slot empties the slot anyway.
// - Modes are the manifest's, never with write bits for group or other (bundle validation
//   refuses those, and lockDir/chmod mask them again).

import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CodedError, messageOf } from '../common/errors.ts';
import type { Manifest, ManifestFile } from '../bundle/manifest-types.ts';
import { manifestDigest, parseManifest } from '../bundle/manifest.ts';
// Imported at start, not on the first slot-ready: a module loaded after the compile cache is
// flushed is type-stripped, and the stripper then stays resident (~12 MiB; supervisor/README.md).
import { claimedKeyId, verifyManifestSignature } from '../bundle/signature.ts';
import type { TrustStore } from '../bundle/trust.ts';
import { DEFAULT_LIMITS, MAX_SIGNATURE_BYTES } from '../bundle/limits.ts';
import { contentError, lockDir, lockFd, lockSymlink, lstatEntry, openRegular, typeOf, type Owner } from './slot-walk.ts';
import { slotWriters } from './slot-writers.ts';

export interface SlotContent {
  manifest: Manifest;
  manifestSha256: string;
}

export interface SealOptions extends Owner {
  /** The trust store, read when it is needed (a key added since the start counts). */
  trust: () => Promise<TrustStore>;
  /** Where /proc is (tests of the writer check); default /proc. */
  procDir?: string;
}

const TOP_LEVEL = new Set(['manifest.json', 'manifest.sig']);
const IMPLICIT_DIR_MODE = 0o755;
const HASH_BUFFER = 1024 * 1024;
/** Bytes hashed, and files locked, between two turns of the event loop (~10 ms of work each). */
const HASH_YIELD_BYTES = 8 * 1024 * 1024;
const YIELD_EVERY_ENTRIES = 256;

/** Takes `dir` from the agent and verifies it; resolves with its manifest, or throws a coded refusal. */
export async function sealSlot(dir: string, label: string, opts: SealOptions): Promise<SlotContent> {
  const fail = (code: string, rel: string) => (what: string) => contentError(code, label, rel, what);
  lockDir(dir, IMPLICIT_DIR_MODE, opts, fail('SLOT_LAYOUT_INVALID', ''));
  const manifestBytes = readTopFile(dir, 'manifest.json', DEFAULT_LIMITS.maxManifestBytes, opts, label);
  const signature = readTopFile(dir, 'manifest.sig', MAX_SIGNATURE_BYTES, opts, label);
  const trust = await opts.trust();
  try {
    verifyManifestSignature(manifestBytes, signature, trust, claimedKeyId(manifestBytes));
  } catch (err) {
    throw new CodedError(err instanceof CodedError ? String(err.code) : 'BUNDLE_SIGNATURE_INVALID', `${label}: manifest.json: ${messageOf(err)}`);
  }
  const manifest = parse(manifestBytes, label);
  const dirs = await lockTree(dir, manifest.files, opts, label);
  await refuseExtras(dir, dirs, manifest.files, label);
  const writers = await slotWriters(dir, opts.procDir);
  const first = writers[0];
  if (first !== undefined) {
    throw new CodedError('SLOT_BUSY', `${label}: pid ${first.pid} still has ${first.path} ${first.how}${writers.length > 1 ? ` (and ${writers.length - 1} more)` : ''}`, { pid: first.pid });
  }
  const buffer = Buffer.allocUnsafe(HASH_BUFFER);
  for (const file of manifest.files) if (file.type === 'file') await checkHash(dir, file, label, buffer);
  return { manifest, manifestSha256: manifestDigest(manifestBytes) };
}

/**
 * The manifest of a sealed slot, checked against the digest the state recorded. A slot that is
 * not sealed (root-owned, no group/other write bits) or that has no recorded digest (state
 * rebuilt after damage, or a slot from before sealing existed) is sealed and verified in full.
 */
export async function sealedContent(dir: string, label: string, expectedSha256: string, opts: SealOptions): Promise<SlotContent> {
  const top = await lstatEntry(dir, (what) => contentError('SLOT_LAYOUT_INVALID', label, '', what));
  const sealed = top.isDirectory() && (!opts.asRoot || top.uid === 0) && (top.mode & 0o022) === 0;
  if (!sealed || expectedSha256 === '') {
    const content = await sealSlot(dir, label, opts);
    if (expectedSha256 !== '' && content.manifestSha256 !== expectedSha256) throw changed(label, expectedSha256, content.manifestSha256);
    return content;
  }
  const bytes = readTopFile(dir, 'manifest.json', DEFAULT_LIMITS.maxManifestBytes, opts, label);
  const digest = manifestDigest(bytes);
  if (digest !== expectedSha256) throw changed(label, expectedSha256, digest);
  return { manifest: parse(bytes, label), manifestSha256: digest };
}

function changed(label: string, expected: string, found: string): CodedError {
  return new CodedError('SLOT_MANIFEST_CHANGED', `${label}: manifest.json is not the one recorded at slot-ready (sha256 ${found.slice(0, 12)}…, recorded ${expected.slice(0, 12)}…)`);
}

function parse(bytes: Buffer, label: string): Manifest {
  try {
    return parseManifest(bytes);
  } catch (err) {
    throw new CodedError('SLOT_MANIFEST_INVALID', `${label}: ${messageOf(err)}`);
  }
}

// manifest.json or manifest.sig: a regular file with one name, at most `max` bytes, root's, 0644.
function readTopFile(dir: string, name: string, max: number, owner: Owner, label: string): Buffer {
  const code = name === 'manifest.json' ? 'SLOT_MANIFEST_MISSING' : 'BUNDLE_SIGNATURE_MISSING';
  const fail = (what: string): CodedError => contentError(what === 'is missing' ? code : 'SLOT_CONTENT_INVALID', label, name, what);
  const { fd, stat } = openRegular(join(dir, name), fail);
  try {
    if (stat.size > max) throw fail(`is ${stat.size} bytes, over the limit of ${max}`);
    lockFd(fd, 0o644, owner);
    const bytes = Buffer.alloc(stat.size);
    if (readSync(fd, bytes, 0, stat.size, 0) !== stat.size) throw fail('changed size while it was read');
    return bytes;
  } finally {
    closeSync(fd);
  }
}

// Locks every listed entry and every directory above one, parents first; returns the directories.
async function lockTree(dir: string, files: readonly ManifestFile[], owner: Owner, label: string): Promise<Set<string>> {
  const modes = new Map<string, number>();
  for (const f of files) {
    const parts = f.path.split('/');
    for (let n = 1; n < parts.length; n += 1) {
      const parent = parts.slice(0, n).join('/');
      if (!modes.has(parent)) modes.set(parent, IMPLICIT_DIR_MODE);
    }
    if (f.type === 'dir') modes.set(f.path, f.mode);
  }
  const depth = (p: string): number => p.split('/').length;
  const ordered = [...files].sort((a, b) => depth(a.path) - depth(b.path));
  const locked = new Set<string>(['']);
  let sinceYield = 0;
  const lockParents = (path: string): void => {
    const parts = path.split('/');
    for (let n = 1; n < parts.length; n += 1) {
      const parent = parts.slice(0, n).join('/');
      if (locked.has(parent)) continue;
      lockDir(join(dir, parent), modes.get(parent) ?? IMPLICIT_DIR_MODE, owner, (what) => contentError('SLOT_CONTENT_INVALID', label, parent, what));
      locked.add(parent);
    }
  };
  for (const f of ordered) {
    lockParents(f.path);
    const fail = (what: string): CodedError => contentError('SLOT_CONTENT_INVALID', label, f.path, what);
    const full = join(dir, f.path);
    if (f.type === 'dir') {
      if (!locked.has(f.path)) lockDir(full, f.mode, owner, fail);
      locked.add(f.path);
    } else if (f.type === 'symlink') {
      const s = await lstatEntry(full, fail);
      if (!s.isSymbolicLink()) throw fail(`is a ${typeOf(s)}, the manifest says symlink`);
      const target = await readlink(full);
      if (target !== f.target) throw fail(`points to ${JSON.stringify(target)}, the manifest says ${JSON.stringify(f.target)}`);
      await lockSymlink(full, owner, fail);
    } else {
      const { fd, stat } = openRegular(full, fail);
      try {
        if (stat.size !== f.size) throw fail(`is ${stat.size} bytes, the manifest says ${f.size}`);
        lockFd(fd, f.mode, owner);
      } finally {
        closeSync(fd);
      }
      if (++sinceYield >= YIELD_EVERY_ENTRIES) {
        sinceYield = 0;
        await yieldToLoop();
      }
    }
  }
  return locked;
}

// Every name in a locked directory must be listed (or be manifest.json/.sig at the top).
async function refuseExtras(dir: string, dirs: Set<string>, files: readonly ManifestFile[], label: string): Promise<void> {
  const listed = new Set<string>(files.map((f) => f.path));
  for (const d of dirs) listed.add(d);
  for (const d of dirs) {
    for (const name of await readdir(join(dir, d))) {
      const rel = d === '' ? name : `${d}/${name}`;
      if (d === '' && TOP_LEVEL.has(name)) continue;
      if (!listed.has(rel)) throw contentError('SLOT_CONTENT_INVALID', label, rel, 'is not in the manifest');
    }
  }
}

// Sync reads of 1 MiB from the page cache, the event loop given back every HASH_YIELD_BYTES: a
// thread-pool round trip per read doubled the time, and the watchdog's pets must keep coming.
async function checkHash(dir: string, file: Extract<ManifestFile, { type: 'file' }>, label: string, buffer: Buffer): Promise<void> {
  const fail = (what: string): CodedError => contentError('SLOT_CONTENT_INVALID', label, file.path, what);
  const { fd } = openRegular(join(dir, file.path), fail);
  const hash = createHash('sha256');
  let total = 0;
  let sinceYield = 0;
  try {
    for (;;) {
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      sinceYield += bytesRead;
      hash.update(buffer.subarray(0, bytesRead));
      if (sinceYield >= HASH_YIELD_BYTES) {
        sinceYield = 0;
        await yieldToLoop();
      }
    }
  } finally {
    closeSync(fd);
  }
  if (total !== file.size) throw fail(`is ${total} bytes, the manifest says ${file.size}`);
  const digest = hash.digest('hex');
  if (digest !== file.sha256) throw fail(`sha256 ${digest} differs from the manifest's ${file.sha256}`);
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
