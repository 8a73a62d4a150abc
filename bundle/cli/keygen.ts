// `twinslot bundle keygen`: a new signing key pair, private key 0600, public key beside it.

import { parseArgs } from 'node:util';
import { rm, writeFile } from 'node:fs/promises';
import type { CliIo } from '../../cli/command.ts';
import { generateKeyPair, KEY_ALGORITHMS, type KeyAlgorithm } from '../keys.ts';
import { cliPath, printJson, required, UsageError } from './shared.ts';

export const KEYGEN_HELP = `Usage: twinslot bundle keygen --type ecdsa-p256|ed25519 --out key.pem [--json]

Writes a new private key (PKCS#8 PEM, mode 0600; never overwritten) to --out and its public
key (SPKI PEM) beside it as <name>.pub.pem, and prints the public key's path. Copy the public
key to /etc/twinslot/trust/ on the devices.
`;

/** Where the public key of `privatePath` goes: key.pem → key.pub.pem. */
export function publicPathOf(privatePath: string): string {
  return privatePath.endsWith('.pem') ? `${privatePath.slice(0, -4)}.pub.pem` : `${privatePath}.pub.pem`;
}

export async function keygen(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { type: { type: 'string' }, out: { type: 'string', short: 'o' }, json: { type: 'boolean', default: false } },
  });
  const type = required(values.type, '--type');
  if (!KEY_ALGORITHMS.includes(type as KeyAlgorithm)) throw new UsageError(`--type must be one of ${KEY_ALGORITHMS.join(', ')}`);
  const privatePath = cliPath(io, required(values.out, '--out'));
  const publicPath = publicPathOf(privatePath);
  const pair = generateKeyPair(type as KeyAlgorithm);
  await writeFile(privatePath, pair.privatePem, { mode: 0o600, flag: 'wx' });
  try {
    await writeFile(publicPath, pair.publicPem, { mode: 0o644, flag: 'wx' });
  } catch (err) {
    await rm(privatePath, { force: true });
    throw err;
  }
  if (values.json) {
    printJson(io, { type, privateKey: privatePath, publicKey: publicPath, keyId: pair.keyId });
  } else {
    io.stdout.write(`${publicPath}\n`);
    io.stderr.write(`private key ${privatePath} (0600), public key ${publicPath}, key id ${pair.keyId}\n`);
  }
  return 0;
}
