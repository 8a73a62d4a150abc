// The demo's releases of the sample app: a signing key made fresh for the run, and one signed
// bundle per version (the app, plus an asset file so the download has something to show),
// uploaded to the emulator's file server under an s3:// name. Job documents point at them
// with AWS IoT's presigned-URL placeholder.

import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createHash, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBundle, generateKeyPair, keyIdOf } from '../bundle/index.ts';
import { DEVICE_TYPE } from './device.ts';

const APP = join(import.meta.dirname, 'sample-app', 'server.mjs');

export interface ReleaseSpec {
  version: string;
  /** What the release does wrong, for the timeline ("" for a good one). */
  flaw: string;
  env: Record<string, string>;
}

export interface Release {
  version: string;
  flaw: string;
  file: string;
  size: number;
  sha256: string;
  /** `${aws:iot:s3-presigned-url:...}`: the emulator puts a fresh presigned URL in at each delivery. */
  url: string;
}

export interface SigningKey { key: KeyObject; keyId: string; publicPem: string }

/** A fresh ECDSA P-256 release key. */
export function makeKey(): SigningKey {
  const pair = generateKeyPair('ecdsa-p256');
  const key = createPrivateKey(pair.privatePem);
  return { key, keyId: keyIdOf(key), publicPem: pair.publicPem };
}

/** Builds and signs `spec` into `work`; `assetBytes` of incompressible data ride along. */
export async function buildRelease(work: string, spec: ReleaseSpec, key: SigningKey, appPort: number, assetBytes: number): Promise<Omit<Release, 'url'>> {
  const src = join(work, `src-${spec.version}`);
  await mkdir(join(src, 'assets'), { recursive: true });
  await copyFile(APP, join(src, 'server.mjs'));
  await writeFile(join(src, 'assets', 'ui.bin'), randomBytes(assetBytes));
  const file = join(work, `sample-app-${spec.version}.tar`);
  await createBundle(src, {
    name: 'sample-app', version: spec.version, compatible: [DEVICE_TYPE], createdAt: new Date().toISOString(), keyId: key.keyId,
    entrypoint: { command: [process.execPath, 'server.mjs'], env: { PORT: String(appPort), APP_VERSION: spec.version, ...spec.env } },
    health: { http: { url: `http://127.0.0.1:${appPort}/health`, intervalMs: 100, timeoutMs: 500, failureThreshold: 2 } },
  }, key.key, file, { gzip: false });
  const bytes = readFileSync(file);
  return { version: spec.version, flaw: spec.flaw, file, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The object name a release is uploaded as, and the placeholder a job document uses for it. */
export function releaseObject(version: string): { s3: string; placeholder: string } {
  const key = `sample-app/sample-app-${version}.tar`;
  return {
    s3: `s3://twinslot-demo-releases/${key}`,
    placeholder: `\${aws:iot:s3-presigned-url:https://s3.us-east-1.amazonaws.com/twinslot-demo-releases/${key}}`,
  };
}

/** The install job document for `release` (jobs-documents/examples/install.json's shape). */
export function installDocument(release: Release): Record<string, unknown> {
  return {
    twinslot: 1, operation: 'install', version: release.version, app: 'sample-app', compatible: [DEVICE_TYPE],
    bundle: { url: release.url, sha256: release.sha256, size: release.size },
  };
}
