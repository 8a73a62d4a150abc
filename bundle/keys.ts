// Signing keys: the two algorithms twinslot accepts, key ids, and key generation.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { BundleError } from './errors.ts';

export type KeyAlgorithm = 'ecdsa-p256' | 'ed25519';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ecdsa-p256', 'ed25519'];

/** The algorithm of `key` (public or private), or undefined when twinslot does not accept it. */
export function algorithmOf(key: KeyObject): KeyAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256';
  return undefined;
}

/** `sha256:` + hex SHA-256 of the DER SubjectPublicKeyInfo (`openssl pkey -pubin -outform DER | sha256sum`). */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

export interface KeyPairPem {
  privatePem: string;
  publicPem: string;
  keyId: string;
}

/** A new key pair as PEM (PKCS#8 private key, SPKI public key): openssl reads both. */
export function generateKeyPair(algorithm: KeyAlgorithm): KeyPairPem {
  const pair = algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(pair.publicKey),
  };
}

/** A private signing key from PEM (PKCS#8 or SEC1 "EC PRIVATE KEY", unencrypted). */
export function parsePrivateKey(pem: string | Buffer, source: string): { key: KeyObject; algorithm: KeyAlgorithm } {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new BundleError('BUNDLE_KEY_INVALID', `${source}: not a readable private key (${(err as Error).message})`, { source });
  }
  const algorithm = algorithmOf(key);
  if (!algorithm) {
    throw new BundleError('BUNDLE_KEY_INVALID', `${source}: ${key.asymmetricKeyType ?? 'unknown'} key; twinslot signs with ECDSA P-256 or Ed25519`, { source });
  }
  return { key, algorithm };
}
