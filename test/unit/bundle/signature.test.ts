// Signing and verifying manifest bytes, and which refusal a failed check earns.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { generateKeyPair, parsePrivateKey, keyIdOf } from '../../../bundle/keys.ts';
import { signManifest, verifyManifestSignature, claimedKeyId } from '../../../bundle/signature.ts';
import { parseTrustPem, type TrustStore } from '../../../bundle/trust.ts';
import { isBundleError, type BundleErrorCode } from '../../../bundle/errors.ts';

const MANIFEST = Buffer.from('{"format":1}\n');

function storeOf(...pems: string[]): TrustStore {
  return { keys: pems.flatMap((pem, i) => parseTrustPem(pem, `key${i}.pem`)), warnings: [] };
}

function refusedWith(code: BundleErrorCode): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isBundleError(err), String(err));
    assert.equal(err.code, code, err.message);
    return true;
  };
}

for (const algorithm of ['ecdsa-p256', 'ed25519'] as const) {
  test(`${algorithm}: a signature verifies with its public key, among others, and names the signer`, () => {
    const signer = generateKeyPair(algorithm);
    const other = generateKeyPair(algorithm === 'ed25519' ? 'ecdsa-p256' : 'ed25519');
    const signature = signManifest(MANIFEST, parsePrivateKey(signer.privatePem, 'k').key);
    const trusted = verifyManifestSignature(MANIFEST, signature, storeOf(other.publicPem, signer.publicPem));
    assert.equal(trusted.keyId, signer.keyId);
    assert.equal(trusted.source, 'key1.pem');
  });

  test(`${algorithm}: one changed byte of the manifest is a bad signature`, () => {
    const signer = generateKeyPair(algorithm);
    const signature = signManifest(MANIFEST, parsePrivateKey(signer.privatePem, 'k').key);
    const changed = Buffer.from(MANIFEST);
    changed.writeUInt8(changed.readUInt8(2) ^ 1, 2);
    assert.throws(() => verifyManifestSignature(changed, signature, storeOf(signer.publicPem), signer.keyId), refusedWith('BUNDLE_SIGNATURE_INVALID'));
  });
}

test('an ECDSA signature in IEEE P1363 form (raw r||s, as HSMs return it) is accepted too', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const raw = sign('sha256', MANIFEST, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  assert.equal(raw.length, 64);
  const trusted = verifyManifestSignature(MANIFEST, raw, storeOf(publicKey.export({ type: 'spki', format: 'pem' }).toString()));
  assert.equal(trusted.keyId, keyIdOf(publicKey));
});

test('a signer the store does not hold is an untrusted key when the manifest names it, else a bad signature', () => {
  const signer = generateKeyPair('ed25519');
  const stranger = generateKeyPair('ed25519');
  const signature = signManifest(MANIFEST, parsePrivateKey(signer.privatePem, 'k').key);
  assert.throws(() => verifyManifestSignature(MANIFEST, signature, storeOf(stranger.publicPem), signer.keyId), refusedWith('BUNDLE_UNTRUSTED_KEY'));
  assert.throws(() => verifyManifestSignature(MANIFEST, signature, storeOf(stranger.publicPem)), refusedWith('BUNDLE_SIGNATURE_INVALID'));
  assert.throws(() => verifyManifestSignature(MANIFEST, signature, { keys: [], warnings: [] }), refusedWith('BUNDLE_UNTRUSTED_KEY'));
});

test('empty, oversized and garbage signatures are bad signatures, never exceptions of another kind', () => {
  const signer = generateKeyPair('ecdsa-p256');
  for (const signature of [Buffer.alloc(0), Buffer.alloc(2048, 1), Buffer.from('30440220', 'hex'), Buffer.alloc(64, 0xff)]) {
    assert.throws(() => verifyManifestSignature(MANIFEST, signature, storeOf(signer.publicPem)), refusedWith('BUNDLE_SIGNATURE_INVALID'));
  }
});

test('the claimed key id is read from the manifest without trusting it', () => {
  assert.equal(claimedKeyId(Buffer.from('{"keyId":"sha256:ab"}')), 'sha256:ab');
  assert.equal(claimedKeyId(Buffer.from('not json')), undefined);
  assert.equal(claimedKeyId(Buffer.from('{"keyId":5}')), undefined);
});

test('only ECDSA P-256 and Ed25519 keys sign or are trusted', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  assert.throws(() => parsePrivateKey(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }), 'rsa.pem'), refusedWith('BUNDLE_KEY_INVALID'));
  assert.throws(() => parsePrivateKey(p384.privateKey.export({ type: 'pkcs8', format: 'pem' }), 'p384.pem'), refusedWith('BUNDLE_KEY_INVALID'));
  assert.throws(() => parsePrivateKey('garbage', 'x.pem'), refusedWith('BUNDLE_KEY_INVALID'));
  assert.throws(() => signManifest(MANIFEST, createPrivateKey(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }))), refusedWith('BUNDLE_KEY_INVALID'));
  assert.throws(() => parseTrustPem(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'rsa.pem'), refusedWith('BUNDLE_TRUST_INVALID'));
  assert.throws(() => parseTrustPem(generateKeyPair('ed25519').privatePem, 'private.pem'), refusedWith('BUNDLE_TRUST_INVALID'));
  assert.throws(() => parseTrustPem('', 'empty.pem'), refusedWith('BUNDLE_TRUST_INVALID'));
});
