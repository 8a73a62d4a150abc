// `node bench/bundle-install.ts [--size 256M|1G ...] [--files N] [--reps N] [--child-node-option OPT] [--json] [--quick]`: twinslot's
// verify+install of a signed bundle, then the supervisor's own check of the slot at slot-ready
// (take it from the agent, verify the signature and every file: supervisor/slot-seal.ts), against
// `sha256sum bundle && tar -xf bundle -C dir`, in the same run on the same files, for a 256 MiB
// and then a 1 GiB bundle of ~1,000 files. The check's share is printed on its own.
// twinslot runs in a child process (this file with --child) that reports its own peak RSS.
// Each side runs 3 times (--reps), alternating, on a warm page cache, with `sync` between runs;
// the median counts. twinslot also fsyncs every file and directory, which the baseline does not
// (a third column shows the baseline followed by `sync -f` of its output, for context only).
// Targets: time ratio ≤ 1.3; peak RSS ≤ 100 MiB, growing < 10% from 256 MiB to 1 GiB.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderTable } from '../common/table.ts';

const MiB = 1024 * 1024;
const TARGETS = { ratio: 1.3, peakRssMiB: 100, rssGrowth: 0.1 };

interface ChildReport {
  seconds: number;
  /** The supervisor's slot-ready check after the install. */
  sealSeconds: number;
  maxRssBytes: number;
  bytes: number;
}

interface Run {
  size: string;
  bundleBytes: number;
  files: number;
  baselineSeconds: number;
  /** The baseline made durable too (`sync -f` on the output): context for the fsync twinslot pays. */
  baselineSyncSeconds: number;
  twinslotSeconds: number;
  /** Of twinslotSeconds: the supervisor's slot-ready check. */
  sealSeconds: number;
  twinslotWallSeconds: number;
  ratio: number;
  /** Without the supervisor's check (the agent's install alone, what the ratio measured before). */
  installOnlyRatio: number;
  peakRssMiB: number;
}

function parseSize(text: string): number {
  const match = /^(\d+)([MG])$/i.exec(text);
  if (!match) throw new Error(`--size wants e.g. 256M or 1G, not ${text}`);
  return Number(match[1]) * (match[2]?.toUpperCase() === 'G' ? 1024 : 1) * MiB;
}

// The child: one install, timed inside the process, peak RSS from the kernel's accounting.
async function child(bundle: string, trustPath: string, slot: string): Promise<void> {
  const { installBundle } = await import('../bundle/install.ts');
  const { loadTrust } = await import('../bundle/trust.ts');
  const trust = await loadTrust(trustPath);
  const started = performance.now();
  const result = await installBundle(createReadStream(bundle), { targetDir: slot, trust });
  const installed = performance.now();
  const { sealSlot } = await import('../supervisor/slot-seal.ts');
  await sealSlot(slot, 'bench slot', { asRoot: process.getuid?.() === 0, trust: () => Promise.resolve(trust) });
  const sealSeconds = (performance.now() - installed) / 1000;
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds, sealSeconds, bytes: result.bytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

/** ~`files` files of random bytes totalling `total`, sizes spread from 1/8 to 15/8 of the mean, in a few directories. */
async function makeTree(root: string, total: number, files: number): Promise<void> {
  const mean = total / files;
  let left = total;
  for (let i = 0; i < files; i += 1) {
    const size = i === files - 1 ? left : Math.min(left, Math.round(mean * (0.125 + 1.75 * ((i * 7919) % files) / files)));
    left -= size;
    const dir = join(root, `d${i % 16}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}.bin`), size > 0 ? randomBytes(size) : '');
  }
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): { seconds: number; stdout: string } {
  const started = performance.now();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 16 * MiB, env });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return { seconds, stdout: result.stdout };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function measure(work: string, label: string, total: number, files: number, reps: number, nodeOptions: string[]): Promise<Run> {
  const { createBundle, generateKeyPair, parsePrivateKey } = await import('../bundle/index.ts');
  const dir = join(work, label);
  await makeTree(join(dir, 'app'), total, files);
  const pair = generateKeyPair('ecdsa-p256');
  await writeFile(join(dir, 'trust.pem'), pair.publicPem);
  const bundle = join(dir, 'bundle.tar');
  const spec = { name: 'bench', version: '1.0.0', compatible: [], entrypoint: { command: ['d0/f0.bin'] }, createdAt: new Date().toISOString() };
  const made = await createBundle(join(dir, 'app'), spec, parsePrivateKey(pair.privatePem, 'bench').key, bundle, { gzip: false });
  await rm(join(dir, 'app'), { recursive: true });
  timed('sh', ['-c', 'cat "$1" >/dev/null', 'sh', bundle]); // warm the page cache for both sides alike
  const baseline: number[] = [];
  const baselineSync: number[] = [];
  const twinslot: ChildReport[] = [];
  const wall: number[] = [];
  // The child runs as the agent runs on a device: with Node's compile cache (the systemd units set
  // NODE_COMPILE_CACHE), filled by one discarded warm-up install.
  const childEnv = { ...process.env, NODE_COMPILE_CACHE: join(work, 'compile-cache') };
  const childArgs = (slot: string): string[] => [...nodeOptions, import.meta.filename, '--child', bundle, join(dir, 'trust.pem'), slot];
  await mkdir(join(dir, 'warm'));
  timed(process.execPath, childArgs(join(dir, 'warm')), childEnv);
  await rm(join(dir, 'warm'), { recursive: true });
  for (let rep = 0; rep < reps; rep += 1) {
    const out = join(dir, 'out');
    await mkdir(out);
    baseline.push(timed('sh', ['-c', 'sha256sum "$1" >/dev/null && tar -xf "$1" -C "$2"', 'sh', bundle, out]).seconds);
    await rm(out, { recursive: true });
    timed('sync', []);
    await mkdir(out);
    baselineSync.push(timed('sh', ['-c', 'sha256sum "$1" >/dev/null && tar -xf "$1" -C "$2" && sync -f "$2"', 'sh', bundle, out]).seconds);
    await rm(out, { recursive: true });
    timed('sync', []);
    const slot = join(dir, 'slot');
    await mkdir(slot);
    const run = timed(process.execPath, childArgs(slot), childEnv);
    twinslot.push(JSON.parse(run.stdout) as ChildReport);
    wall.push(run.seconds);
    await rm(slot, { recursive: true });
    timed('sync', []);
  }
  await rm(dir, { recursive: true });
  const twinslotSeconds = median(twinslot.map((r) => r.seconds));
  const sealSeconds = median(twinslot.map((r) => r.sealSeconds));
  const baselineSeconds = median(baseline);
  return {
    size: label,
    bundleBytes: made.bytes,
    files: made.manifest.files.filter((f) => f.type === 'file').length,
    baselineSeconds,
    baselineSyncSeconds: median(baselineSync),
    twinslotSeconds,
    sealSeconds,
    twinslotWallSeconds: median(wall),
    ratio: twinslotSeconds / baselineSeconds,
    installOnlyRatio: median(twinslot.map((r) => r.seconds - r.sealSeconds)) / baselineSeconds,
    peakRssMiB: Math.max(...twinslot.map((r) => r.maxRssBytes)) / MiB,
  };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { size: { type: 'string', multiple: true }, files: { type: 'string', default: '1000' }, reps: { type: 'string', default: '3' }, 'child-node-option': { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false }, child: { type: 'boolean', default: false } },
  });
  if (values.child) {
    const [bundle, trust, slot] = positionals;
    if (!bundle || !trust || !slot) throw new Error('--child <bundle> <trust> <slot>');
    await child(bundle, trust, slot);
    return 0;
  }
  const sizes = values.size ?? (values.quick ? ['256M'] : ['256M', '1G']);
  const work = await mkdtemp(join(tmpdir(), 'twinslot-bench-'));
  const runs: Run[] = [];
  try {
    for (const size of sizes) runs.push(await measure(work, size, parseSize(size), Number(values.files), Number(values.reps), values['child-node-option'] ?? []));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const first = runs[0];
  const last = runs.at(-1);
  const rssGrowth = first && last && runs.length > 1 ? last.peakRssMiB / first.peakRssMiB - 1 : undefined;
  const pass = runs.every((r) => r.ratio <= TARGETS.ratio && r.peakRssMiB <= TARGETS.peakRssMiB) && (rssGrowth === undefined || rssGrowth < TARGETS.rssGrowth);
  const rows = runs.map((r) => [
    r.size, String(r.files), r.baselineSeconds.toFixed(2), r.baselineSyncSeconds.toFixed(2), r.twinslotSeconds.toFixed(2),
    `${r.sealSeconds.toFixed(2)} (${((r.sealSeconds / r.twinslotSeconds) * 100).toFixed(0)}%)`, r.twinslotWallSeconds.toFixed(2), r.installOnlyRatio.toFixed(2), r.ratio.toFixed(2), r.peakRssMiB.toFixed(1),
  ]);
  const flags = values['child-node-option']?.join(' ') ?? '';
  process.stdout.write(`bundle-install: twinslot installBundle (verify + extract + fsync) + the supervisor's slot-ready check (Node compile cache as on a device${flags ? `; node ${flags}` : ''}) vs sha256sum && tar -xf, median of ${values.reps}\n\n`);
  process.stdout.write(renderTable(['bundle', 'files', 'baseline s', 'baseline+sync s', 'twinslot s', 'of it check s', 'twinslot+start s', 'install-only ratio', 'ratio', 'peak RSS MiB'], rows, ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right']));
  process.stdout.write('\nratio = twinslot s (install + check) / baseline s; install-only ratio leaves the supervisor\'s check out; twinslot+start adds the child\'s Node start; baseline+sync adds `sync -f` for comparison only.\n');
  process.stdout.write(`\nRSS growth ${sizes.join(' → ')}: ${rssGrowth === undefined ? 'n/a' : `${(rssGrowth * 100).toFixed(1)}%`}; targets: ratio ≤ ${TARGETS.ratio}, peak RSS ≤ ${TARGETS.peakRssMiB} MiB, growth < ${TARGETS.rssGrowth * 100}%: ${pass ? 'met' : 'NOT met'}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify({ bench: 'bundle-install', childNodeOptions: flags, runs, rssGrowth: rssGrowth ?? null, targets: TARGETS, pass })}\n`);
  return 0;
}

process.exitCode = await main();
