// `twinslot bundle create`: sign and write a bundle, or (for signing outside twinslot) write
// only the manifest, or assemble a bundle from a manifest and a signature made elsewhere.

import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CliIo } from '../../cli/command.ts';
import type { Entrypoint, HealthSpec } from '../manifest-types.ts';
import { buildManifest, createBundle, writeBundle, type ManifestSpec } from '../create.ts';
import { keyIdOf, parsePrivateKey } from '../keys.ts';
import { manifestDigest } from '../manifest.ts';
import { parseTrustPem } from '../trust.ts';
import { cliPath, required, UsageError } from './shared.ts';

export const CREATE_HELP = `Usage:
  twinslot bundle create <dir> --name N --version SEMVER --key key.pem -o out.tar [options] [-- CMD ARGS...]
  twinslot bundle create <dir> --name N --version SEMVER --manifest-only [--signer key.pub.pem] -o manifest.json [options]
  twinslot bundle create <dir> --manifest manifest.json --signature manifest.sig -o out.tar [--gzip]

Makes a bundle of the tree at <dir>: manifest.json (every file with size, mode, sha256),
manifest.sig, then the tree. The second form writes only the manifest, to be signed with
openssl or an HSM; the third assembles the bundle from that manifest and its signature.

Options:
  --name N              application name
  --version SEMVER      application version (semver 2.0.0)
  --key PEM             private key (ECDSA P-256 or Ed25519) that signs the manifest
  --entry ARG           entrypoint argv, one element per --entry (or give it after --)
  --env K=V             entrypoint environment (repeatable)
  --user NAME           user the app runs as
  --workdir DIR         working directory, relative to the slot
  --compatible TYPE     device type this bundle runs on (repeatable; none = any)
  --health-json JSON    health overrides (HealthSpec), e.g. '{"http":{"url":"http://127.0.0.1:8080/health"}}'
  --created-at ISO      creation time (default: $SOURCE_DATE_EPOCH, else now)
  --gzip                gzip the tar
  -o, --out FILE        output file
  --json                print the result as JSON
`;

const OPTIONS = {
  name: { type: 'string' },
  version: { type: 'string' },
  key: { type: 'string' },
  entry: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  user: { type: 'string' },
  workdir: { type: 'string' },
  compatible: { type: 'string', multiple: true },
  'health-json': { type: 'string' },
  'created-at': { type: 'string' },
  gzip: { type: 'boolean', default: false },
  out: { type: 'string', short: 'o' },
  'manifest-only': { type: 'boolean', default: false },
  signer: { type: 'string' },
  manifest: { type: 'string' },
  signature: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

type Values = ReturnType<typeof parseCreateArgs>['values'];

function parseCreateArgs(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, tokens: true });
}

function entrypointOf(values: Values, trailing: string[]): Entrypoint {
  const command = [...(values.entry ?? []), ...trailing];
  if (command.length === 0) throw new UsageError('the entrypoint is required: --entry ARG... or -- CMD ARGS...');
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env wants K=V, not "${pair}"`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    command,
    ...(values.env ? { env } : {}),
    ...(values.user !== undefined ? { user: values.user } : {}),
    ...(values.workdir !== undefined ? { workingDir: values.workdir } : {}),
  };
}

function createdAtOf(values: Values, io: CliIo): string {
  if (values['created-at'] !== undefined) return values['created-at'];
  const epoch = io.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d+$/.test(epoch)) return new Date(Number(epoch) * 1000).toISOString();
  return new Date().toISOString();
}

function specOf(values: Values, trailing: string[], io: CliIo): ManifestSpec {
  let health: HealthSpec | undefined;
  if (values['health-json'] !== undefined) {
    try {
      health = JSON.parse(values['health-json']) as HealthSpec;
    } catch (err) {
      throw new UsageError(`--health-json is not JSON: ${(err as Error).message}`);
    }
  }
  return {
    name: required(values.name, '--name'),
    version: required(values.version, '--version'),
    compatible: values.compatible ?? [],
    entrypoint: entrypointOf(values, trailing),
    health,
    createdAt: createdAtOf(values, io),
  };
}

export async function create(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals, tokens } = parseCreateArgs(argv);
  const terminator = tokens.findIndex((token) => token.kind === 'option-terminator');
  const trailing = terminator < 0 ? [] : tokens.slice(terminator + 1).flatMap((token) => (token.kind === 'positional' ? [token.value] : []));
  const dirs = positionals.slice(0, positionals.length - trailing.length);
  if (dirs.length !== 1) throw new UsageError('exactly one <dir> is required');
  const dir = cliPath(io, dirs[0] ?? '');
  const out = cliPath(io, required(values.out, '-o/--out'));

  if (values.manifest !== undefined || values.signature !== undefined) {
    const manifestBytes = await readFile(cliPath(io, required(values.manifest, '--manifest')));
    const signature = await readFile(cliPath(io, required(values.signature, '--signature')));
    const bytes = await writeBundle(dir, manifestBytes, signature, out, { gzip: values.gzip });
    const result = { path: out, bytes, manifestSha256: manifestDigest(manifestBytes) };
    return report(io, values.json, result, `${out}: ${bytes} bytes, manifest sha256 ${result.manifestSha256}`);
  }
  const spec = specOf(values, trailing, io);
  if (values['manifest-only']) {
    const signer = values.signer === undefined ? undefined : parseTrustPem(await readFile(cliPath(io, values.signer), 'utf8'), values.signer)[0];
    const { manifest, bytes } = await buildManifest(dir, { ...spec, keyId: signer?.keyId });
    await writeFile(out, bytes);
    const result = { path: out, bytes: bytes.length, name: manifest.name, version: manifest.version, files: manifest.files.length, manifestSha256: manifestDigest(bytes) };
    return report(io, values.json, result, `${out}: manifest of ${manifest.name} ${manifest.version} (${manifest.files.length} entries); sign it, then run bundle create --manifest --signature`);
  }
  const { key } = parsePrivateKey(await readFile(cliPath(io, required(values.key, '--key'))), required(values.key, '--key'));
  const { manifest, bytes } = await createBundle(dir, spec, key, out, { gzip: values.gzip });
  const result = { path: out, bytes, name: manifest.name, version: manifest.version, files: manifest.files.length, keyId: keyIdOf(key) };
  return report(io, values.json, result, `${out}: ${manifest.name} ${manifest.version}, ${manifest.files.length} entries, ${bytes} bytes, signed by ${result.keyId}`);
}

function report(io: CliIo, json: boolean, result: Record<string, unknown>, line: string): number {
  io.stdout.write(json ? `${JSON.stringify({ ok: true, ...result })}\n` : `${line}\n`);
  return 0;
}
