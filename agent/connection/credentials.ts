// Certificate, key and trust anchor, read from disk before every connection attempt so a
// rotated or repaired certificate is picked up without restarting the agent.

import { readFile } from 'node:fs/promises';
import { isErrno } from '../../common/errors.ts';
import type { ConnectionConfig } from '../config.ts';

export interface Credentials {
  cert: string;
  key: string;
  ca?: string;
}

export type CredentialsRead = { kind: 'ok'; credentials: Credentials } | { kind: 'missing'; path: string };

/** Read the credential files; a missing or unreadable file is reported, not thrown. */
export async function readCredentials(config: Pick<ConnectionConfig, 'certPath' | 'keyPath' | 'caPath'>): Promise<CredentialsRead> {
  const files: Array<[keyof Credentials, string | undefined]> = [
    ['cert', config.certPath],
    ['key', config.keyPath],
    ['ca', config.caPath],
  ];
  const out: Partial<Credentials> = {};
  for (const [name, path] of files) {
    if (path === undefined) continue;
    try {
      const text = await readFile(path, 'utf8');
      // A file caught half-written (or truncated) holds no complete PEM block yet.
      if (!/-----END [A-Z0-9 ]+-----/.test(text)) return { kind: 'missing', path };
      out[name] = text;
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'EACCES') || isErrno(err, 'EISDIR')) return { kind: 'missing', path };
      throw err;
    }
  }
  const { cert, key, ca } = out;
  if (cert === undefined || key === undefined) return { kind: 'missing', path: config.certPath };
  return { kind: 'ok', credentials: ca === undefined ? { cert, key } : { cert, key, ca } };
}
