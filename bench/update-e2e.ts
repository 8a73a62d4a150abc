// `node bench/update-e2e.ts [--mib N] [--json] [--quick]`: one install job of a signed bundle
// (64 MiB by default) from job creation to SUCCEEDED — emulator, real supervisor, `twinslot
// agent` — next to what a person would do by hand with the same bundle in the same run:
// `curl` the presigned URL + `twinslot bundle verify` + `tar -xf`. The agent's time includes
// the MQTT round trips, the fsyncs of the install, activation and the trial's probation
// (1 s in the rig), which the baseline does not have; the time to activation is shown too.

import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);
import { installDoc, startRig } from '../test/integration/agent/e2e/rig.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'twinslot.js');

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { mib: { type: 'string' }, json: { type: 'boolean' }, quick: { type: 'boolean' } } });
  const mib = Number(values.mib ?? (values.quick ? 16 : 64));
  const cleanups: Array<() => unknown> = [];
  try {
    const rig = await startRig({ after: (fn: () => unknown) => cleanups.push(fn) });
    const bundle = await rig.bundle('1.1.0', { padBytes: mib * 1024 * 1024 });
    const agent = await rig.startAgent();

    // twinslot: job creation → SUCCEEDED.
    const started = performance.now();
    rig.createJob('bench-1', installDoc(bundle));
    const final = await rig.finalOf('bench-1');
    const agentSeconds = (performance.now() - started) / 1000;
    if (final['status'] !== 'SUCCEEDED') throw new Error(`job ended ${JSON.stringify(final)}`);
    const at = (to: string): number => Date.parse(String(agent.logs.find((l) => l['event'] === 'job-phase' && l['to'] === to)?.['time']));
    const received = Date.parse(String(agent.logs.find((l) => l['event'] === 'job-received')?.['time']));
    const toActivation = (at('activating') - received) / 1000;

    // Baseline: curl + verify + extract of the same bundle.
    const out = join(rig.dir, 'baseline');
    mkdirSync(join(out, 'x'), { recursive: true });
    const caPath = rig.emulator.caPath;
    const url = rig.presignedVia(bundle, rig.filesPort());
    const base = performance.now();
    // Async: the emulator's file server runs in this process.
    await run('curl', ['-sSf', '--cacert', caPath, '-o', join(out, 'b.tar'), url]);
    await run(process.execPath, [BIN, 'bundle', 'verify', join(out, 'b.tar'), '--trust', rig.device.paths.trustDir]);
    await run('tar', ['-xf', join(out, 'b.tar'), '-C', join(out, 'x')]);
    const baselineSeconds = (performance.now() - base) / 1000;
    if (readFileSync(join(out, 'b.tar')).length !== bundle.size) throw new Error('baseline download incomplete');

    const result = {
      bundleMiB: Math.round((bundle.size / 1024 / 1024) * 10) / 10,
      agentSeconds, agentToActivationSeconds: toActivation, baselineSeconds,
      ratio: agentSeconds / baselineSeconds,
      ratioToActivation: toActivation / baselineSeconds,
    };
    process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${Object.entries(result).map(([k, v]) => `${k}: ${typeof v === 'number' ? v.toFixed(3) : v}`).join('\n')}\n`);
    return 0;
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

process.exitCode = await main();
setTimeout(() => process.exit(), 1000).unref();
