// The head of a bundle: manifest.json, then manifest.sig, as its first two entries. Read,
// authenticated and validated before a single payload entry is looked at.

import type { ReadEntry } from 'tar/read-entry';
import type { Manifest } from './manifest-types.ts';
import { BundleError } from './errors.ts';
import { checkEntry } from './entry-checks.ts';
import { parseManifest } from './manifest.ts';
import { claimedKeyId, verifyManifestSignature } from './signature.ts';
import type { TarReader } from './tar-reader.ts';
import type { TrustedKey, TrustStore } from './trust.ts';
import { MAX_SIGNATURE_BYTES, type BundleLimits } from './limits.ts';

export interface BundleHead {
  manifest: Manifest;
  manifestBytes: Buffer;
  signature: Buffer;
  /** The trusted key that signed the manifest; undefined when read without a trust store. */
  signer: TrustedKey | undefined;
}

export interface HeadOptions {
  /** Without a trust store the signature is read but not checked (`bundle inspect`). */
  trust: TrustStore | undefined;
  limits: BundleLimits;
  /** This device's type; the manifest's `compatible` list must name it (an empty list means any). */
  deviceType?: string | undefined;
}

/** Reads an entry's body whole; for the two small head entries only. */
async function readSmallEntry(entry: ReadEntry, reader: TarReader): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of reader.body(entry)) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  if (body.length !== entry.size) throw reader.failure ?? new BundleError('BUNDLE_TRUNCATED', `the archive ends inside "${entry.path}"`);
  return body;
}

async function headEntry(reader: TarReader, name: 'manifest.json' | 'manifest.sig', maxBytes: number): Promise<Buffer> {
  const missing = name === 'manifest.json' ? 'BUNDLE_MANIFEST_MISSING' : 'BUNDLE_SIGNATURE_MISSING';
  const position = name === 'manifest.json' ? 'first' : 'second';
  const entry = await reader.next();
  if (!entry) throw new BundleError(missing, `the archive ends before ${name}, which must be its ${position} entry`);
  const checked = checkEntry(entry);
  if (checked.path !== name || checked.kind !== 'file') {
    throw new BundleError(missing, `the ${position} entry must be the file ${name}, not the ${checked.kind} "${checked.path}"`, { path: checked.path });
  }
  if (entry.size > maxBytes) {
    throw name === 'manifest.json'
      ? new BundleError('BUNDLE_MANIFEST_TOO_LARGE', `manifest.json is ${entry.size} bytes, more than the limit of ${maxBytes}`, { size: entry.size, limit: maxBytes })
      : new BundleError('BUNDLE_SIGNATURE_INVALID', `manifest.sig is ${entry.size} bytes; not a signature`, { size: entry.size });
  }
  return readSmallEntry(entry, reader);
}

/** Reads and checks manifest.json and manifest.sig: signature first, then the manifest's content. */
export async function readHead(reader: TarReader, options: HeadOptions): Promise<BundleHead> {
  const manifestBytes = await headEntry(reader, 'manifest.json', options.limits.maxManifestBytes);
  const signature = await headEntry(reader, 'manifest.sig', MAX_SIGNATURE_BYTES);
  const signer = options.trust ? verifyManifestSignature(manifestBytes, signature, options.trust, claimedKeyId(manifestBytes)) : undefined;
  const manifest = parseManifest(manifestBytes, options.limits.maxFiles);
  const { deviceType } = options;
  if (deviceType !== undefined && manifest.compatible.length > 0 && !manifest.compatible.includes(deviceType)) {
    throw new BundleError('BUNDLE_INCOMPATIBLE', `${manifest.name} ${manifest.version} is for ${manifest.compatible.join(', ')}, not for ${deviceType}`, {
      compatible: manifest.compatible,
      deviceType,
    });
  }
  return { manifest, manifestBytes, signature, signer };
}
