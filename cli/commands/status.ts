// `twinslot status [--root DIR] [--json]`: slots, trial, last outcome, app, watchdog, counters,
// and the agent's own status; from the running supervisor (the agent's section is what the agent
// pushed to it), or from the files when it is down: then the agent's status.json is read here,
// as the invoking user and without trusting it (agent/status-file.ts), never by the supervisor.

import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';
import { devicePaths } from '../../slots/paths.ts';
import { SlotStore } from '../../slots/store.ts';
import { createLogger } from '../../common/log.ts';
import { connectSupervisor } from '../../ipc/client.ts';
import type { StatusReport } from '../../ipc/protocol.ts';
import { offlineStatus, renderStatus } from '../../supervisor/status.ts';
import { readStatusFileSafely } from '../../agent/status-file.ts';

const HELP = `Usage: twinslot status [--root DIR] [--json]

  --root DIR  device root (default /)
  --json      one JSON object (the supervisor's status report)
  --help      this text
`;

const command: Command = {
  summary: 'show slots, trial, app, watchdog and agent status',
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { root: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const paths = devicePaths(values.root ?? '/');
    let report: StatusReport;
    try {
      const client = await connectSupervisor(paths.supervisorSocket);
      try {
        report = await client.request('status');
      } finally {
        client.close();
      }
    } catch {
      report = offlineStatus(paths, new SlotStore(paths, createLogger('status', { level: 'warn' })));
      const file = readStatusFileSafely(paths.agentDir);
      if (file !== undefined && 'error' in file) io.stderr.write(`twinslot status: the agent's status is not shown: ${file.error}\n`);
      else if (file !== undefined) report.agent = { ...file.status, source: 'file', receivedAt: file.mtimeMs, ageMs: Math.max(0, Date.now() - file.mtimeMs) };
    }
    io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : renderStatus(report));
    return 0;
  },
};

export default command;
