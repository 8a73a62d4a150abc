// The keys allowed to sign bundles: PEM public keys or certificates, from one file or from a
// directory of *.pem files (/etc/twinslot/trust). A certificate only carries its public key:
// its validity period and chain are not checked (devices often lack a trusted clock); revoke
// a signer by removing its file.

import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleError } from './errors.ts';
import { algorithmOf, keyIdOf, type KeyAlgorithm } from './keys.ts';

export interface TrustedKey {
  keyId: string;
  algorithm: KeyAlgorithm;
  key: KeyObject;
  /** File the key came from. */
  source: string;
}

export interface TrustStore {
  keys: TrustedKey[];
  /** Files of a trust directory that were skipped, with the reason. */
  warnings: string[];
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function keyOfBlock(label: string, block: string): KeyObject {
  if (label === 'CERTIFICATE') return new X509Certificate(block).publicKey;
  if (label === 'PUBLIC KEY') return createPublicKey(block);
  throw new Error(`a "${label}" block is not a public key or certificate`);
}

/** The keys of one PEM file; throws on anything in it twinslot cannot use. */
export function parseTrustPem(text: string, source: string): TrustedKey[] {
  const keys: TrustedKey[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const label = match[1] ?? '';
    let key: KeyObject;
    try {
      key = keyOfBlock(label, match[0]);
    } catch (err) {
      throw new BundleError('BUNDLE_TRUST_INVALID', `${source}: ${(err as Error).message}`, { source });
    }
    const algorithm = algorithmOf(key);
    if (!algorithm) {
      throw new BundleError('BUNDLE_TRUST_INVALID', `${source}: ${key.asymmetricKeyType ?? 'unknown'} key; bundles are signed with ECDSA P-256 or Ed25519`, { source });
    }
    keys.push({ keyId: keyIdOf(key), algorithm, key, source });
  }
  if (keys.length === 0) throw new BundleError('BUNDLE_TRUST_INVALID', `${source}: no PEM public key or certificate in it`, { source });
  return keys;
}

async function readPem(file: string): Promise<TrustedKey[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BundleError('BUNDLE_TRUST_INVALID', `${file}: ${(err as Error).message}`, { source: file }, { cause: err });
  }
  return parseTrustPem(text, file);
}

/**
 * The trust store at `path`: a PEM file (every block must be usable), or a directory whose
 * `*.pem` files are read (unusable ones are skipped with a warning). No usable key → refused.
 */
export async function loadTrust(path: string): Promise<TrustStore> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw new BundleError('BUNDLE_TRUST_INVALID', `${path}: ${(err as Error).message}`, { source: path }, { cause: err });
  }
  if (!isDir) return { keys: await readPem(path), warnings: [] };
  const names = (await readdir(path)).filter((name) => name.endsWith('.pem')).sort();
  const store: TrustStore = { keys: [], warnings: [] };
  for (const name of names) {
    try {
      store.keys.push(...(await readPem(join(path, name))));
    } catch (err) {
      store.warnings.push((err as Error).message);
    }
  }
  if (store.keys.length === 0) {
    throw new BundleError('BUNDLE_TRUST_INVALID', `${path}: no usable *.pem public key or certificate${store.warnings.length ? ` (${store.warnings.join('; ')})` : ''}`, { source: path });
  }
  return store;
}
