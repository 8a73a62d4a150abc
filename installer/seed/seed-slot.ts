// install.sh's helper for --initial-bundle: verifies a signed bundle against the device's trust
// keys, streams it into slot a, and writes the slot state with a committed, `current` -> slots/a.
// Run with the release's own node:
//   node seed-slot.ts --root DIR --bundle FILE [--trust-dir DIR] [--config FILE]
//
// INVARIANTS
// - Nothing is seeded on a device that has slot state (state.json or its copy): a committed slot
//   is never overwritten. The same bundle again is reported as already installed.
// - The state is written only after the slot is complete (installBundle wrote its manifest.json
//   last), and `current` is flipped only after the state names slot a committed: a crash at any
//   point leaves either no state (run again: slot a is emptied and re-installed) or a complete seed.
// - A refused bundle leaves slot a empty and no state: installBundle removes what it wrote.

import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { installBundle } from '../../bundle/install.ts';
import { manifestDigest } from '../../bundle/manifest.ts';
import { loadTrust } from '../../bundle/trust.ts';
import { inspectBundle } from '../../bundle/verify.ts';
import { CodedError, messageOf } from '../../common/errors.ts';
import { silentLogger } from '../../common/log.ts';
import { devicePaths, type DevicePaths } from '../../slots/paths.ts';
import { initialState } from '../../slots/state.ts';
import { SlotStore } from '../../slots/store.ts';

export interface SeedOptions {
  root: string;
  bundle: string;
  /** Trusted signing keys (a directory of *.pem or one file); default: the device's trust dir. */
  trustDir?: string;
  /** Device type checked against the bundle's `compatible` list; absent → not checked. */
  deviceType?: string;
}

export type SeedResult =
  | { kind: 'seeded'; version: string; manifestSha256: string }
  | { kind: 'unchanged'; version: string }
  | { kind: 'state-exists' };

/** Installs `bundle` into slot a as the committed slot of a device that has no slot state yet. */
export async function seedSlot(opts: SeedOptions): Promise<SeedResult> {
  const paths = devicePaths(opts.root);
  const store = new SlotStore(paths, silentLogger());
  if (existsSync(paths.state) || existsSync(paths.stateBackup)) return existing(store, paths, opts.bundle);
  const trust = await loadTrust(opts.trustDir ?? paths.trustDir);
  const slotDir = paths.slot('a');
  await emptyDir(slotDir);
  const result = await installBundle(createReadStream(opts.bundle), { targetDir: slotDir, trust, deviceType: opts.deviceType });
  const state = initialState('a');
  state.slots.a = { status: 'ready', version: result.manifest.version, manifestSha256: result.manifestSha256 };
  store.save(state);
  store.flipCurrent('a');
  return { kind: 'seeded', version: result.manifest.version, manifestSha256: result.manifestSha256 };
}

// A device with slot state keeps it; the same bundle in the committed slot is "unchanged".
async function existing(store: SlotStore, paths: DevicePaths, bundle: string): Promise<SeedResult> {
  const { state } = store.load();
  const committed = state.committed === null ? null : state.slots[state.committed];
  if (committed?.status !== 'ready' || state.committed === null) return { kind: 'state-exists' };
  const installed = join(paths.slot(state.committed), 'manifest.json');
  if (!existsSync(installed) || manifestDigest(readFileSync(installed)) !== committed.manifestSha256) return { kind: 'state-exists' };
  const head = await inspectBundle(createReadStream(bundle), {});
  return head.manifestSha256 === committed.manifestSha256 ? { kind: 'unchanged', version: committed.version } : { kind: 'state-exists' };
}

// No state means nothing was committed: whatever slot a holds is the remains of an interrupted seed.
// Written only while the slot is the seeding user's alone (root's): nobody else can plant links in it.
async function emptyDir(dir: string): Promise<void> {
  const st = await lstat(dir).catch((err: unknown) => {
    throw new CodedError('SEED_SLOT_MISSING', `${dir}: ${messageOf(err)}`);
  });
  if (!st.isDirectory()) throw new CodedError('SEED_SLOT_UNSAFE', `${dir} is not a directory`);
  if (st.uid !== (process.getuid?.() ?? 0) || (st.mode & 0o022) !== 0) {
    throw new CodedError('SEED_SLOT_UNSAFE', `${dir} is owned by uid ${st.uid} with mode ${(st.mode & 0o7777).toString(8)}: the initial bundle goes only into a slot that is root's alone`);
  }
  const names = await readdir(dir).catch((err: unknown) => {
    throw new CodedError('SEED_SLOT_MISSING', `${dir}: ${messageOf(err)}`);
  });
  await Promise.all(names.map((name) => rm(join(dir, name), { recursive: true, force: true })));
}

function deviceTypeOf(configFile: string | undefined): string | undefined {
  if (configFile === undefined || !existsSync(configFile)) return undefined;
  const raw = JSON.parse(readFileSync(configFile, 'utf8')) as { device?: { deviceType?: unknown } };
  const type = raw.device?.deviceType;
  return typeof type === 'string' && type !== '' ? type : undefined;
}

async function main(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: { root: { type: 'string' }, bundle: { type: 'string' }, 'trust-dir': { type: 'string' }, config: { type: 'string' } },
  });
  if (!v.root || !v.bundle) throw new CodedError('INSTALL_FLAG_MISSING', 'seed-slot needs --root and --bundle');
  const deviceType = deviceTypeOf(v.config);
  const result = await seedSlot({
    root: v.root, bundle: v.bundle, ...(v['trust-dir'] ? { trustDir: v['trust-dir'] } : {}), ...(deviceType ? { deviceType } : {}),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    const code = err instanceof CodedError ? `${err.code}: ` : '';
    process.stderr.write(`twinslot install: initial bundle refused: ${code}${messageOf(err)}\n`);
    process.exitCode = 1;
  });
}
