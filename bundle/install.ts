// The agent's install step: stream a bundle into an empty slot directory.
//
// INVARIANTS
// - No payload byte is written before the manifest's signature verified against the trust
//   store and the manifest validated: manifest.json and manifest.sig are the first entries.
// - Every file is hashed while it is written and compared before it is made durable.
// - manifest.sig, then manifest.json, are written last, each atomically (temp, fsync,
//   rename, fsync dir), after every payload file and directory was fsynced. A slot with a
//   manifest.json is complete; without one it is not ready.
// - On any refusal, abort or I/O error the slot's content is removed (best effort) and no
//   manifest.json is written; nothing outside the slot directory is touched.
// - Memory does not grow with the bundle: bytes flow through with backpressure.

import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from './manifest-types.ts';
import { writeFileAtomic } from '../common/durable-file.ts';
import { BundleError, asBundleError } from './errors.ts';
import { DiskSink } from './disk-sink.ts';
import { manifestDigest } from './manifest.ts';
import { walkPayload } from './payload.ts';
import { readBundle, type BundleSource } from './read.ts';
import type { BundleLimits } from './limits.ts';
import type { TrustStore } from './trust.ts';

export interface InstallOptions {
  /** The slot directory; the supervisor has emptied it and marked it `installing`. */
  targetDir: string;
  trust: TrustStore;
  limits?: Partial<BundleLimits> | undefined;
  signal?: AbortSignal | undefined;
  /** This device's type, checked against the manifest's `compatible` list. */
  deviceType?: string | undefined;
}

export interface BundleResult {
  manifest: Manifest;
  /** Hex SHA-256 of manifest.json: what the slot state records as `manifestSha256`. */
  manifestSha256: string;
  /** keyId of the trusted key that signed the manifest. */
  keyId: string;
  /** Bytes read from the source. */
  bytes: number;
  compressed: boolean;
}

/** Verifies and extracts `source` into `targetDir`; resolves once the slot is complete and durable. */
export async function installBundle(source: BundleSource, options: InstallOptions): Promise<BundleResult> {
  const target = options.targetDir;
  await assertEmpty(target);
  const sink = new DiskSink(target);
  try {
    const { head, stats } = await readBundle(source, options, (reader, h) => walkPayload(reader, h.manifest, sink));
    await sink.finish();
    if (options.signal?.aborted) throw new BundleError('BUNDLE_ABORTED', 'aborted', {}, { cause: options.signal.reason });
    await writeFileAtomic(join(target, 'manifest.sig'), head.signature, 0o644);
    await writeFileAtomic(join(target, 'manifest.json'), head.manifestBytes, 0o644);
    return {
      manifest: head.manifest,
      manifestSha256: manifestDigest(head.manifestBytes),
      keyId: head.signer?.keyId ?? '',
      bytes: stats.inputBytes,
      compressed: stats.compressed,
    };
  } catch (err) {
    await sink.settle();
    await clear(target);
    throw asBundleError(err);
  }
}

async function assertEmpty(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw asBundleError(err);
  }
  if (names.length > 0) {
    throw new BundleError('BUNDLE_TARGET_NOT_EMPTY', `${dir} is not empty (${names.length} entries); the slot must be emptied before an install`, { dir });
  }
}

// The slot was empty when the install began, so everything in it now came from this install.
async function clear(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.map((name) => rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined)));
}
