// `twinslot power-fail`: called by a UPS daemon (NUT upsmon NOTIFYCMD, apcupsd) when power is
// failing. The supervisor tells the agent (a `power-fail` event) and stops the app in order.

import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';
import { devicePaths } from '../../slots/paths.ts';
import { connectSupervisor } from '../../supervisor/ipc/client.ts';

const HELP = `Usage: twinslot power-fail [--root DIR] [--json] [MESSAGE]

Tells the supervisor that power is failing: it sends a power-fail event to the agent and stops
the app gracefully. For NUT's upsmon.conf: NOTIFYCMD "/usr/local/bin/twinslot power-fail" and
NOTIFYFLAG LOWBATT SYSLOG+EXEC (or ONBATT); /usr/local/bin/twinslot is the launcher install.sh
links. The message upsmon passes as an argument is ignored.

  --root DIR  device root (default /)
  --json      print the supervisor's answer as JSON
  --help      this text
`;

const command: Command = {
  summary: 'tell the supervisor power is failing (for UPS daemons)',
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, allowPositionals: true, options: { root: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const client = await connectSupervisor(devicePaths(values.root ?? '/').supervisorSocket);
    try {
      const result = await client.request('power-fail');
      io.stdout.write(values.json ? `${JSON.stringify(result)}\n` : 'power-fail sent; app stopped\n');
      return 0;
    } finally {
      client.close();
    }
  },
};

export default command;
