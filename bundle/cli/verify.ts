// `twinslot bundle verify` and `twinslot bundle inspect`.

import { parseArgs } from 'node:util';
import type { CliIo } from '../../cli/command.ts';
import { devicePaths } from '../../slots/paths.ts';
import type { ManifestFile } from '../manifest-types.ts';
import { loadTrust } from '../trust.ts';
import { inspectBundle, verifyBundle } from '../verify.ts';
import { cliPath, openBundle, printJson, UsageError } from './shared.ts';

export const VERIFY_HELP = `Usage: twinslot bundle verify <bundle> [--trust PEM|DIR] [--device-type TYPE] [--json]

Checks everything an install checks, without extracting: the signature of manifest.json
against the trust store, the manifest, every entry and every file's size and sha256.
Exit 0 when the bundle is valid; otherwise exit 1 and one line "CODE: reason".

Options:
  --trust PEM|DIR       public key / certificate, or a directory of *.pem (default /etc/twinslot/trust)
  --device-type TYPE    also require the bundle to be compatible with this device type
  --json                print the result as JSON
`;

export const INSPECT_HELP = `Usage: twinslot bundle inspect <bundle> [--json]

Shows the manifest of a bundle (validated, signature NOT checked: use verify) without reading
its payload.
`;

function onePath(positionals: string[], io: CliIo): string {
  if (positionals.length !== 1) throw new UsageError('exactly one <bundle> is required');
  return cliPath(io, positionals[0] ?? '');
}

export async function verify(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { trust: { type: 'string' }, 'device-type': { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const path = onePath(positionals, io);
  const trust = await loadTrust(values.trust === undefined ? devicePaths('/').trustDir : cliPath(io, values.trust));
  for (const warning of trust.warnings) io.stderr.write(`warning: trust: ${warning}\n`);
  const result = await verifyBundle(openBundle(path), trust, { deviceType: values['device-type'] });
  const { manifest } = result;
  if (values.json) {
    printJson(io, { ok: true, name: manifest.name, version: manifest.version, keyId: result.keyId, manifestSha256: result.manifestSha256, files: manifest.files.length, bytes: result.bytes, compressed: result.compressed });
  } else {
    io.stdout.write(`OK ${manifest.name} ${manifest.version}: ${manifest.files.length} entries, ${result.bytes} bytes, signed by ${result.keyId}\n`);
  }
  return 0;
}

function describe(file: ManifestFile): string {
  switch (file.type) {
    case 'file':
      return `file     ${file.mode.toString(8).padStart(4, '0')} ${String(file.size).padStart(12)}  ${file.path}`;
    case 'dir':
      return `dir      ${file.mode.toString(8).padStart(4, '0')} ${''.padStart(12)}  ${file.path}/`;
    case 'symlink':
      return `symlink  ${''.padStart(4)} ${''.padStart(12)}  ${file.path} -> ${file.target}`;
  }
}

export async function inspect(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  const { head, manifestSha256, compressed } = await inspectBundle(openBundle(onePath(positionals, io)));
  const { manifest } = head;
  if (values.json) {
    printJson(io, { manifest, manifestSha256, signatureBytes: head.signature.length, compressed, signatureChecked: false });
    return 0;
  }
  const total = manifest.files.reduce((sum, file) => sum + (file.type === 'file' ? file.size : 0), 0);
  const lines = [
    `name:        ${manifest.name}`,
    `version:     ${manifest.version}`,
    `compatible:  ${manifest.compatible.length ? manifest.compatible.join(', ') : '(any)'}`,
    `entrypoint:  ${JSON.stringify(manifest.entrypoint.command)}`,
    `created:     ${manifest.createdAt}`,
    `key id:      ${manifest.keyId ?? '(not stated)'}`,
    `signature:   ${head.signature.length} bytes (not checked; run bundle verify)`,
    `manifest:    sha256 ${manifestSha256}`,
    `compressed:  ${compressed ? 'gzip' : 'no'}`,
    `payload:     ${manifest.files.length} entries, ${total} bytes`,
    ...(manifest.health ? [`health:      ${JSON.stringify(manifest.health)}`] : []),
    '',
    ...manifest.files.map(describe),
    '',
  ];
  io.stdout.write(lines.join('\n'));
  return 0;
}
