// A full listing of a device root (path → mode, owner names, sha256 or link target), and test
// credentials made with openssl.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Names from the root's own passwd/group, so owners read as twinslot, not host names. */
async function names(root: string, file: string): Promise<Map<number, string>> {
  const map = new Map<number, string>([[0, 'root']]);
  const text = await readFile(join(root, 'etc', file), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id) map.set(Number(id), name);
  }
  return map;
}

export function modeOf(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Every path under `root` (filtered) with its mode, owner:group and content hash or link target. */
export async function listTree(root: string, keep: (path: string) => boolean = () => true): Promise<Map<string, string>> {
  const users = await names(root, 'passwd');
  const groups = await names(root, 'group');
  const out = new Map<string, string>();
  async function walk(rel: string): Promise<void> {
    const abs = join(root, rel);
    const st = await lstat(abs);
    const who = `${users.get(st.uid) ?? st.uid}:${groups.get(st.gid) ?? st.gid}`;
    let what = 'dir';
    if (st.isSymbolicLink()) what = `-> ${await readlink(abs)}`;
    else if (st.isFile()) what = createHash('sha256').update(await readFile(abs)).digest('hex');
    if (rel !== '' && keep(rel)) out.set(rel, `${modeOf(st.mode)} ${who} ${what}`);
    if (st.isDirectory()) for (const name of (await readdir(abs)).sort()) await walk(`${rel}/${name}`);
  }
  await walk('');
  return out;
}

export interface Credentials {
  cert: string;
  key: string;
  ca: string;
  trust: string;
}

/** A self-signed device certificate and a bundle signing public key in `dir`. */
export async function makeCredentials(dir: string): Promise<Credentials> {
  const c = { cert: join(dir, 'device.crt'), key: join(dir, 'device.key'), ca: join(dir, 'ca.pem'), trust: join(dir, 'signer.pub.pem') };
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', c.key, '-out', c.cert, '-subj', '/CN=gw-0001', '-days', '2']);
  await run('cp', [c.cert, c.ca]);
  await run('openssl', ['pkey', '-in', c.key, '-pubout', '-out', c.trust]);
  return c;
}
