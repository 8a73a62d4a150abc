// Lists a directory tree as manifest entries: depth first, siblings in byte order, regular
// files hashed. Hard-linked files are listed as independent files; FIFOs, devices and
// sockets are refused, as are names that are not UTF-8.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestFile } from './manifest-types.ts';
import { BundleError } from './errors.ts';

/** Hex SHA-256 and byte count of a file, read as a stream. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** The entries under `root` (root itself excluded), in bundle order. */
export async function scanTree(root: string): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  await scanDir(root, '', files);
  return files;
}

async function scanDir(root: string, rel: string, out: ManifestFile[]): Promise<void> {
  const names = await readdir(join(root, rel), { encoding: 'buffer' });
  names.sort((a, b) => Buffer.compare(a, b));
  for (const raw of names) {
    const name = raw.toString('utf8');
    const path = rel === '' ? name : `${rel}/${name}`;
    if (!Buffer.from(name).equals(raw)) {
      throw new BundleError('BUNDLE_NAME_NOT_UTF8', `${JSON.stringify(join(root, rel))} holds a name that is not valid UTF-8 (${raw.toString('hex')})`, { path });
    }
    const full = join(root, path);
    const stat = await lstat(full);
    // Group and other never write an installed slot (the app could change what runs): a source
    // tree made under umask 002 gets its group write bits dropped, not a refused bundle.
    const mode = stat.mode & 0o755;
    if (stat.isDirectory()) {
      out.push({ type: 'dir', path, mode });
      await scanDir(root, path, out);
    } else if (stat.isFile()) {
      const { sha256, size } = await hashFile(full);
      out.push({ type: 'file', path, size, mode, sha256 });
    } else if (stat.isSymbolicLink()) {
      out.push({ type: 'symlink', path, target: await readlink(full) });
    } else if (stat.isFIFO()) {
      throw new BundleError('BUNDLE_FIFO', `${full} is a FIFO; a bundle holds files, directories and symlinks`, { path });
    } else if (stat.isCharacterDevice() || stat.isBlockDevice()) {
      throw new BundleError('BUNDLE_DEVICE_NODE', `${full} is a device node; a bundle holds files, directories and symlinks`, { path });
    } else {
      throw new BundleError('BUNDLE_ENTRY_TYPE_UNSUPPORTED', `${full} is a socket or other special file`, { path });
    }
  }
}
