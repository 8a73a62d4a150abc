// Size limits applied while reading a bundle. The device config may tighten them; the
// defaults are generous enough for any application bundle and small enough to stop a bomb.

export interface BundleLimits {
  /** Bytes of the uncompressed tar stream, trailing padding included (gzip bomb guard). */
  maxBundleBytes: number;
  /** Bytes of manifest.json. */
  maxManifestBytes: number;
  /** Entries listed in the manifest. */
  maxFiles: number;
}

export const DEFAULT_LIMITS: Readonly<BundleLimits> = {
  maxBundleBytes: 8 * 1024 ** 3,
  maxManifestBytes: 1024 ** 2,
  maxFiles: 100_000,
};

/** Largest manifest.sig accepted: far above any DER ECDSA P-256 (≤ 72 B) or Ed25519 (64 B) signature. */
export const MAX_SIGNATURE_BYTES = 1024;

/** Tar bytes the manifest can account for beyond the file data: headers, pax/long-name records, padding. */
export const PER_ENTRY_OVERHEAD = 16 * 1024;
export const ARCHIVE_SLACK = 1024 ** 2;

/** `limits` completed with the defaults. */
export function resolveLimits(limits: Partial<BundleLimits> = {}): BundleLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}
