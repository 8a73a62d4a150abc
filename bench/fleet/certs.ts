// Client certificates for the simulated fleet. One CA (the emulator's own PKI layout, so the
// emulator adopts it) signs every thing's certificate with `openssl req -x509 -CA`, which keeps
// no serial or index file and so can run in parallel. The set is cached in a temp directory keyed
// by the device count and reused by later runs.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createPki, issueClientCert } from '../../emulator/broker/pki.ts';
import { RESPONDER_CN } from '../../emulator/responder.ts';

const run = promisify(execFile);

const CLIENT_CNF = `[req]
distinguished_name = dn
x509_extensions = client_ext
prompt = no
[dn]
CN = unused
[client_ext]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
`;

export interface FleetCerts {
  /** Holds pki/ (CA, server and responder certificates) and things/<name>.crt|.key. */
  dir: string;
  pkiDir: string;
  thingsDir: string;
  things: string[];
  /** Wall time spent making them in this run (0 when cached). */
  issueMs: number;
  cached: boolean;
}

/** The thing names of a fleet of `count`. */
export function thingNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `fleet-${String(i).padStart(4, '0')}`);
}

async function issueThing(pkiDir: string, thingsDir: string, cnf: string, name: string): Promise<void> {
  await run('openssl', ['req', '-x509', '-config', cnf, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(thingsDir, `${name}.key`), '-out', join(thingsDir, `${name}.crt`), '-subj', `/CN=${name}`,
    '-CA', join(pkiDir, 'ca.crt'), '-CAkey', join(pkiDir, 'ca.key'), '-days', '3650']);
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** The cached certificates for `count` things, made first when missing or when `fresh`. */
export async function fleetCerts(count: number, fresh: boolean, parallel = 4): Promise<FleetCerts> {
  const dir = join(tmpdir(), `twinslot-bench-fleet-certs-${count}`);
  const pkiDir = join(dir, 'pki');
  const thingsDir = join(dir, 'things');
  const things = thingNames(count);
  const marker = join(dir, 'complete');
  if (!fresh && existsSync(marker)) return { dir, pkiDir, thingsDir, things, issueMs: 0, cached: true };
  const t0 = performance.now();
  await rm(dir, { recursive: true, force: true });
  await mkdir(thingsDir, { recursive: true, mode: 0o700 });
  const pki = await createPki(pkiDir);
  await issueClientCert(pki, RESPONDER_CN);
  const cnf = join(dir, 'client.cnf');
  await writeFile(cnf, CLIENT_CNF);
  await pool(things, parallel, (name) => issueThing(pkiDir, thingsDir, cnf, name));
  await writeFile(marker, `${new Date().toISOString()}\n`);
  return { dir, pkiDir, thingsDir, things, issueMs: performance.now() - t0, cached: false };
}
