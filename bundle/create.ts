// `bundle create`: scan a directory into a manifest, sign it, and write the tar. The payload
// is read twice (hash for the manifest, then copy); the copy is hashed again and refused if
// the tree changed in between, so a written bundle always verifies.

import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entrypoint, HealthSpec, Manifest, ManifestFile } from './manifest-types.ts';
import { BundleError } from './errors.ts';
import { keyIdOf } from './keys.ts';
import { parseManifest, serializeManifest, validateManifest } from './manifest.ts';
import { openOutput } from './output.ts';
import { scanTree } from './scan.ts';
import { signManifest } from './signature.ts';
import { TarWriter } from './tar-writer.ts';

export interface ManifestSpec {
  name: string;
  version: string;
  compatible: string[];
  entrypoint: Entrypoint;
  health?: HealthSpec | undefined;
  /** ISO 8601; also the mtime of every tar entry, so equal inputs give equal archives. */
  createdAt: string;
  /** The signer's key id (`bundle create --key` fills it in). */
  keyId?: string | undefined;
}

/** The manifest of the tree at `sourceDir`, validated, and its bytes as they will be signed. */
export async function buildManifest(sourceDir: string, spec: ManifestSpec): Promise<{ manifest: Manifest; bytes: Buffer }> {
  const files = await scanTree(sourceDir);
  const manifest = validateManifest({
    format: 1,
    name: spec.name,
    version: spec.version,
    compatible: spec.compatible,
    entrypoint: spec.entrypoint,
    ...(spec.health ? { health: spec.health } : {}),
    createdAt: spec.createdAt,
    ...(spec.keyId ? { keyId: spec.keyId } : {}),
    files,
  });
  return { manifest, bytes: serializeManifest(manifest) };
}

export interface WriteOptions {
  gzip: boolean;
}

/** Writes the bundle for an already signed manifest; the tree must still match it. Returns bytes written. */
export async function writeBundle(sourceDir: string, manifestBytes: Buffer, signature: Buffer, outPath: string, options: WriteOptions): Promise<number> {
  const manifest = parseManifest(manifestBytes);
  const output = await openOutput(outPath, options.gzip);
  try {
    const writer = new TarWriter(output.stream);
    const mtime = new Date(Math.floor(Date.parse(manifest.createdAt) / 1000) * 1000);
    await writer.entry({ path: 'manifest.json', type: 'File', mode: 0o644, mtime }, manifestBytes);
    await writer.entry({ path: 'manifest.sig', type: 'File', mode: 0o644, mtime }, signature);
    for (const file of manifest.files) await writePayloadEntry(writer, sourceDir, file, mtime);
    await writer.end();
    return await output.commit();
  } catch (err) {
    await output.abort();
    throw err;
  }
}

/** Scans, signs with `key` and writes a bundle. */
export async function createBundle(sourceDir: string, spec: ManifestSpec, key: KeyObject, outPath: string, options: WriteOptions): Promise<{ manifest: Manifest; bytes: number }> {
  const { manifest, bytes } = await buildManifest(sourceDir, { ...spec, keyId: keyIdOf(key) });
  const written = await writeBundle(sourceDir, bytes, signManifest(bytes, key), outPath, options);
  return { manifest, bytes: written };
}

function changed(path: string, what: string): BundleError {
  return new BundleError('BUNDLE_SOURCE_CHANGED', `${path} ${what} since the manifest was made`, { path });
}

async function writePayloadEntry(writer: TarWriter, root: string, file: ManifestFile, mtime: Date): Promise<void> {
  const full = join(root, file.path);
  switch (file.type) {
    case 'dir':
      return writer.header({ path: `${file.path}/`, type: 'Directory', mode: file.mode, size: 0, mtime });
    case 'symlink':
      if ((await readlink(full).catch(() => undefined)) !== file.target) throw changed(full, 'is no longer the same symlink');
      return writer.header({ path: file.path, type: 'SymbolicLink', mode: 0o777, size: 0, linkpath: file.target, mtime });
    case 'file': {
      if ((await stat(full)).size !== file.size) throw changed(full, 'changed size');
      await writer.header({ path: file.path, type: 'File', mode: file.mode, size: file.size, mtime });
      const hash = createHash('sha256');
      let size = 0;
      const bytes = file.size > 0 ? (createReadStream(full, { highWaterMark: 1024 * 1024, end: file.size - 1 }) as AsyncIterable<Buffer>) : [];
      for await (const chunk of bytes) {
        hash.update(chunk);
        size += chunk.length;
        await writer.write(chunk);
      }
      if (size !== file.size || hash.digest('hex') !== file.sha256) throw changed(full, 'changed');
      return writer.pad(size);
    }
  }
}
