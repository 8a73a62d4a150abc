// A small certificate authority made with the openssl command line: the CA, the broker's server
// certificate, one client certificate per thing (CN = thing name, which Mosquitto uses as the
// username for ACLs, as AWS IoT uses the certificate's thing), and a CRL for revocations.

import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CodedError } from '../../common/errors.ts';

const run = promisify(execFile);

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  crl: string;
}

export interface ClientCredentials {
  cert: string;
  key: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new CodedError('PKI_OPENSSL_FAILED', `openssl ${args[0] ?? ''} failed: ${stderr.trim()}`, {}, { cause: err });
  }
}

function caConfig(dir: string): string {
  return `[ ca ]
default_ca = twinslot_ca
[ twinslot_ca ]
dir = ${dir}
database = ${join(dir, 'index.txt')}
new_certs_dir = ${join(dir, 'issued')}
serial = ${join(dir, 'serial')}
crlnumber = ${join(dir, 'crlnumber')}
certificate = ${join(dir, 'ca.crt')}
private_key = ${join(dir, 'ca.key')}
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = any_policy
unique_subject = no
copy_extensions = copy
[ any_policy ]
commonName = supplied
[ client_ext ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
[ server_ext ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
`;
}

function paths(dir: string): Pki {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    crl: join(dir, 'crl.pem'),
  };
}

/** Opens the PKI in `dir`, creating the CA, server certificate and an empty CRL the first time. */
export async function createPki(dir: string): Promise<Pki> {
  const pki = paths(dir);
  if (existsSync(pki.crl)) return pki;
  await mkdir(join(dir, 'issued'), { recursive: true, mode: 0o700 });
  await writeFile(join(dir, 'ca.cnf'), caConfig(dir));
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '1000\n');
  await writeFile(join(dir, 'crlnumber'), '1000\n');
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', pki.caKey, '-out', pki.caCert, '-days', '3650', '-subj', '/CN=twinslot local CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  await issue(pki, 'localhost', pki.serverCert, pki.serverKey, 'server_ext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  await regenerateCrl(pki);
  return pki;
}

async function issue(pki: Pki, cn: string, certPath: string, keyPath: string, ext: string, san?: string): Promise<void> {
  const csr = `${certPath}.csr`;
  const req = ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', csr, '-subj', `/CN=${cn}`];
  if (san) req.push('-addext', san);
  await openssl(req, pki.dir);
  await openssl(['ca', '-batch', '-config', join(pki.dir, 'ca.cnf'), '-extensions', ext, '-notext',
    '-in', csr, '-out', certPath], pki.dir);
}

/** Issues a client certificate with CN = `commonName` into `outDir` (default: `<pki>/clients`). */
export async function issueClientCert(pki: Pki, commonName: string, outDir = join(pki.dir, 'clients')): Promise<ClientCredentials> {
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(commonName)) {
    throw new CodedError('PKI_INVALID_NAME', `invalid certificate name "${commonName}": use letters, digits and _ . : -`);
  }
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const creds = { cert: join(outDir, `${commonName}.crt`), key: join(outDir, `${commonName}.key`) };
  await issue(pki, commonName, creds.cert, creds.key, 'client_ext');
  return creds;
}

/** Revokes a certificate issued by this PKI and rewrites the CRL. */
export async function revokeClientCert(pki: Pki, certPath: string): Promise<void> {
  await openssl(['ca', '-batch', '-config', join(pki.dir, 'ca.cnf'), '-revoke', certPath], pki.dir);
  await regenerateCrl(pki);
}

async function regenerateCrl(pki: Pki): Promise<void> {
  await openssl(['ca', '-batch', '-config', join(pki.dir, 'ca.cnf'), '-gencrl', '-out', pki.crl], pki.dir);
}

/** The CA certificate PEM, for clients that take the trust anchor as bytes. */
export async function readCaPem(pki: Pki): Promise<string> {
  return readFile(pki.caCert, 'utf8');
}
