// The payload walk: every entry after the head must be listed in the (already verified)
// manifest, with the same kind, size and link target; each file's bytes are hashed on their
// way to the sink. The walk is the same for verify (a sink that drops bytes) and install.

import { createHash } from 'node:crypto';
import type { ReadEntry } from 'tar/read-entry';
import type { Manifest, ManifestFile } from './manifest-types.ts';
import { BundleError } from './errors.ts';
import { checkEntry, type CheckedEntry } from './entry-checks.ts';
import type { TarReader } from './tar-reader.ts';

/** Where payload entries go. Paths are manifest paths (relative, canonical, verified). */
export interface PayloadSink {
  directory(path: string, mode: number): Promise<void>;
  symlink(path: string, target: string): Promise<void>;
  file(path: string): Promise<FileSink>;
}

export interface FileSink {
  write(chunk: Buffer): Promise<void>;
  /** All bytes arrived and matched: apply the mode and make the file durable. */
  commit(mode: number): Promise<void>;
  /** The file is refused: release it (the caller cleans the target up). */
  discard(): Promise<void>;
}

/** A sink that keeps nothing: verification without extraction. */
export const NULL_SINK: PayloadSink = {
  directory: () => Promise.resolve(),
  symlink: () => Promise.resolve(),
  file: () => Promise.resolve({ write: () => Promise.resolve(), commit: () => Promise.resolve(), discard: () => Promise.resolve() }),
};

/** Reads the payload entries into `sink`; refuses anything the manifest does not vouch for. */
export async function walkPayload(reader: TarReader, manifest: Manifest, sink: PayloadSink): Promise<void> {
  const expected = new Map(manifest.files.map((file) => [file.path, file]));
  const seen = new Set(['manifest.json', 'manifest.sig']);
  for (let entry = await reader.next(); entry; entry = await reader.next()) {
    const checked = checkEntry(entry);
    if (seen.has(checked.path)) throw new BundleError('BUNDLE_DUPLICATE_ENTRY', `"${checked.path}" appears twice in the archive`, { path: checked.path });
    seen.add(checked.path);
    const listed = expected.get(checked.path);
    if (!listed) throw new BundleError('BUNDLE_ENTRY_NOT_IN_MANIFEST', `"${checked.path}" is not listed in the manifest`, { path: checked.path });
    await extractEntry(entry, checked, listed, sink, reader);
  }
  if (!reader.complete) throw reader.failure ?? new BundleError('BUNDLE_TRUNCATED', 'the archive ends without its end-of-archive marker');
  const missing = manifest.files.filter((file) => !seen.has(file.path));
  if (missing.length > 0) {
    const names = missing.slice(0, 3).map((file) => `"${file.path}"`).join(', ');
    throw new BundleError('BUNDLE_FILE_MISSING', `${missing.length} manifest entr${missing.length === 1 ? 'y is' : 'ies are'} not in the archive: ${names}${missing.length > 3 ? ', ...' : ''}`, {
      missing: missing.map((file) => file.path),
    });
  }
}

async function extractEntry(entry: ReadEntry, checked: CheckedEntry, listed: ManifestFile, sink: PayloadSink, reader: TarReader): Promise<void> {
  if (listed.type !== checked.kind) {
    throw new BundleError('BUNDLE_ENTRY_MISMATCH', `"${checked.path}" is a ${checked.kind} in the archive but a ${listed.type} in the manifest`, { path: checked.path });
  }
  switch (listed.type) {
    case 'dir':
      await drain(entry, reader);
      return sink.directory(listed.path, listed.mode);
    case 'symlink':
      if (checked.linkpath !== listed.target) {
        throw new BundleError('BUNDLE_ENTRY_MISMATCH', `symlink "${listed.path}" points to "${checked.linkpath}", the manifest says "${listed.target}"`, { path: listed.path });
      }
      await drain(entry, reader);
      return sink.symlink(listed.path, listed.target);
    case 'file':
      if (checked.size !== listed.size) {
        throw new BundleError('BUNDLE_SIZE_MISMATCH', `"${listed.path}" is ${checked.size} bytes in the archive, ${listed.size} in the manifest`, {
          path: listed.path,
          size: checked.size,
          expected: listed.size,
        });
      }
      return copyFile(entry, listed, sink, reader);
  }
}

async function drain(entry: ReadEntry, reader: TarReader): Promise<void> {
  for await (const _ of reader.body(entry)) {
    // directories and symlinks have no body; this lets the parser move on
  }
}

async function copyFile(entry: ReadEntry, listed: ManifestFile & { type: 'file' }, sink: PayloadSink, reader: TarReader): Promise<void> {
  const out = await sink.file(listed.path);
  try {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of reader.body(entry)) {
      size += chunk.length;
      hash.update(chunk);
      await out.write(chunk);
    }
    if (size !== listed.size) throw reader.failure ?? new BundleError('BUNDLE_TRUNCATED', `the archive ends inside "${listed.path}"`, { path: listed.path });
    const digest = hash.digest('hex');
    if (digest !== listed.sha256) {
      throw new BundleError('BUNDLE_CHECKSUM_MISMATCH', `"${listed.path}" has sha256 ${digest}, the manifest says ${listed.sha256}`, { path: listed.path });
    }
    await out.commit(listed.mode);
  } catch (err) {
    await out.discard();
    throw err;
  }
}
