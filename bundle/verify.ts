// Checks a whole bundle without extracting it: signature, manifest, every entry, every hash.

import { manifestDigest } from './manifest.ts';
import { NULL_SINK, walkPayload } from './payload.ts';
import { readBundle, type BundleSource } from './read.ts';
import type { BundleLimits } from './limits.ts';
import type { TrustStore } from './trust.ts';
import type { BundleResult } from './install.ts';
import type { BundleHead } from './head.ts';

export interface VerifyOptions {
  limits?: Partial<BundleLimits> | undefined;
  signal?: AbortSignal | undefined;
  deviceType?: string | undefined;
}

/** Resolves when `source` is a bundle this trust store accepts; rejects with a BundleError otherwise. */
export async function verifyBundle(source: BundleSource, trust: TrustStore, options: VerifyOptions = {}): Promise<BundleResult> {
  const { head, stats } = await readBundle(source, { ...options, trust }, (reader, h) => walkPayload(reader, h.manifest, NULL_SINK));
  return {
    manifest: head.manifest,
    manifestSha256: manifestDigest(head.manifestBytes),
    keyId: head.signer?.keyId ?? '',
    bytes: stats.inputBytes,
    compressed: stats.compressed,
  };
}

export interface InspectResult {
  head: BundleHead;
  manifestSha256: string;
  compressed: boolean;
}

/** The head of a bundle (manifest validated, signature not checked), without reading the payload. */
export async function inspectBundle(source: BundleSource, options: VerifyOptions = {}): Promise<InspectResult> {
  const { head, stats } = await readBundle(source, { ...options, trust: undefined }, 'stop');
  return { head, manifestSha256: manifestDigest(head.manifestBytes), compressed: stats.compressed };
}
