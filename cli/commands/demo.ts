// `twinslot demo [--dir DIR] [--keep] [--json]`: two over-the-air updates on this machine with
// no AWS account — one committed, one rolled back — on a live timeline, then a summary.

import { tmpdir } from 'node:os';
import { delimiter } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';

const HELP = `Usage: twinslot demo [--dir DIR] [--keep] [--json]

Runs twinslot end to end in a temp root, with no AWS: the emulator (Mosquitto with TLS client
certificates, the AWS IoT Jobs data plane, an HTTPS file server for presigned URLs), the
supervisor and the agent as child processes, and a sample HTTP app at v1.0.0 in slot a.
Two signed releases are built and offered as jobs, one after the other:
  job-1  v1.1.0  healthy                          → committed after probation (SUCCEEDED)
  job-2  v1.2.0  health check fails in probation  → rolled back to v1.1.0 (FAILED)
A prober GETs the app every 20 ms. The summary gives each job's outcome, duration, app
downtime and rollback time. Exit 0 when both outcomes are as expected.

Needs Mosquitto (installed with apt-get when run as root). Ctrl-C stops everything.

  --dir DIR  where to make the temp root (default: the system temp dir)
  --keep     keep the temp root (configs, logs, bundles, emulator state) afterwards
  --json     print the summary as JSON on stdout (the timeline goes to stderr)
  --help     this text
`;

const command: Command = {
  summary: 'run two updates end to end on this machine (emulator, supervisor, agent)',
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { dir: { type: 'string' }, keep: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const { ensureMosquitto } = await import('../../demo/mosquitto-check.ts');
    const found = await ensureMosquitto({ env: io.env, isRoot: process.getuid?.() === 0, log: io.stderr });
    // The emulator starts `mosquitto` from PATH; Debian keeps it in /usr/sbin, off a user's PATH.
    const path = io.env['PATH'] ?? '';
    if (!path.split(delimiter).includes(found)) process.env['PATH'] = `${path}${delimiter}${found}`;
    const { runDemo } = await import('../../demo/run.ts');
    const { createTimeline } = await import('../../demo/timeline.ts');
    const { renderSummary } = await import('../../demo/summary.ts');
    const out = values.json ? io.stderr : io.stdout;
    const timeline = createTimeline(out, (out as NodeJS.WriteStream).isTTY === true);
    const abort = new AbortController();
    const onSignal = (signal: NodeJS.Signals): void => {
      if (!abort.signal.aborted) out.write(`\n${signal}: stopping everything the demo started…\n`);
      abort.abort(new Error(`stopped by ${signal}`));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const result = await runDemo({ parentDir: values.dir ?? tmpdir(), keep: values.keep === true, timeline, signal: abort.signal });
      if (values.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else io.stdout.write(renderSummary(result));
      if (result.kept) out.write(`kept: ${result.root}\n`);
      return result.ok ? 0 : 1;
    } catch (err) {
      if (!abort.signal.aborted) throw err;
      out.write('stopped; nothing left running.\n');
      return 130;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

export default command;
