// Signing and verifying manifest.json. The signature covers the manifest's raw bytes:
// ECDSA P-256 over SHA-256 (DER, as `openssl dgst -sha256 -sign` writes it; the 64-byte
// IEEE P1363 r||s form that HSMs often return is accepted too) or Ed25519 (`openssl pkeyutl -rawin`).

import { sign, verify, type KeyObject } from 'node:crypto';
import { BundleError } from './errors.ts';
import { algorithmOf } from './keys.ts';
import type { TrustedKey, TrustStore } from './trust.ts';
import { MAX_SIGNATURE_BYTES } from './limits.ts';

/** The signature of `manifest` with `key`, in the form openssl writes. */
export function signManifest(manifest: Uint8Array, key: KeyObject): Buffer {
  const algorithm = algorithmOf(key);
  if (algorithm === 'ed25519') return sign(null, manifest, key);
  if (algorithm === 'ecdsa-p256') return sign('sha256', manifest, { key, dsaEncoding: 'der' });
  throw new BundleError('BUNDLE_KEY_INVALID', 'twinslot signs with ECDSA P-256 or Ed25519 keys only');
}

function verifiesWith(trusted: TrustedKey, manifest: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (trusted.algorithm === 'ed25519') return verify(null, manifest, trusted.key, signature);
    if (verify('sha256', manifest, { key: trusted.key, dsaEncoding: 'der' }, signature)) return true;
    return signature.length === 64 && verify('sha256', manifest, { key: trusted.key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false; // a malformed signature is just one that does not verify
  }
}

/**
 * The trusted key that signed `manifest`, or a refusal: BUNDLE_UNTRUSTED_KEY when the manifest
 * names a signer the trust store does not hold, BUNDLE_SIGNATURE_INVALID otherwise.
 */
export function verifyManifestSignature(manifest: Uint8Array, signature: Uint8Array, trust: TrustStore, claimedKeyId?: string): TrustedKey {
  if (signature.length === 0 || signature.length > MAX_SIGNATURE_BYTES) {
    throw new BundleError('BUNDLE_SIGNATURE_INVALID', `manifest.sig is ${signature.length} bytes; not a signature`);
  }
  const signer = trust.keys.find((trusted) => verifiesWith(trusted, manifest, signature));
  if (signer) return signer;
  if (claimedKeyId !== undefined && !trust.keys.some((trusted) => trusted.keyId === claimedKeyId)) {
    throw new BundleError('BUNDLE_UNTRUSTED_KEY', `signed by ${claimedKeyId}, which is not in the trust store`, { keyId: claimedKeyId });
  }
  if (trust.keys.length === 0) throw new BundleError('BUNDLE_UNTRUSTED_KEY', 'the trust store holds no key');
  const detail = claimedKeyId === undefined ? '' : ` (the manifest names ${claimedKeyId})`;
  throw new BundleError('BUNDLE_SIGNATURE_INVALID', `the signature does not verify with any of the ${trust.keys.length} trusted key(s)${detail}`);
}

/** The keyId a manifest claims, read without trusting it (only to choose the refusal code). */
export function claimedKeyId(manifest: Uint8Array): string | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(manifest).toString('utf8'));
    if (typeof value === 'object' && value !== null && 'keyId' in value && typeof value.keyId === 'string') return value.keyId;
  } catch {
    // not JSON: no claim
  }
  return undefined;
}
