// `twinslot status [--root DIR] [--json]`: slots, trial, last outcome, app, watchdog, counters,
// and the agent's own status; from the running supervisor, or from the files when it is down.

import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';
import { devicePaths } from '../../slots/paths.ts';
import { SlotStore } from '../../slots/store.ts';
import { createLogger } from '../../common/log.ts';
import { connectSupervisor } from '../../ipc/client.ts';
import type { StatusReport } from '../../ipc/protocol.ts';
import { offlineStatus, renderStatus } from '../../supervisor/status.ts';

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
    }
    io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : renderStatus(report));
    return 0;
  },
};

export default command;
