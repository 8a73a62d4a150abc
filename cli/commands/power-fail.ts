// `twinslot power-fail` and `twinslot power-restored`: called by a UPS daemon (NUT upsmon
// NOTIFYCMD, apcupsd). On power-fail the supervisor tells the agent (a `power-fail` event) and
// stops the app in order; on power-restored (mains back, no shutdown happened) it starts the
// app again and the agent takes work again.

import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';
import { devicePaths } from '../../slots/paths.ts';
import { connectSupervisor } from '../../ipc/client.ts';

const OPTIONS = `  --root DIR  device root (default /)
  --json      print the supervisor's answer as JSON
  --help      this text
`;

const NOTIFY_SCRIPT = `For NUT's upsmon, save this as /etc/nut/twinslot-notify (mode 0755; upsmon passes the
event in NOTIFYTYPE, and a message as an argument, which is ignored):

  #!/bin/sh
  case "$NOTIFYTYPE" in
    LOWBATT|FSD) exec /usr/local/bin/twinslot power-fail ;;
    ONLINE)      exec /usr/local/bin/twinslot power-restored ;;
  esac

and in upsmon.conf: NOTIFYCMD /etc/nut/twinslot-notify, NOTIFYFLAG LOWBATT SYSLOG+EXEC,
NOTIFYFLAG FSD SYSLOG+EXEC, NOTIFYFLAG ONLINE SYSLOG+EXEC. /usr/local/bin/twinslot is the
launcher install.sh links. (ONBATT instead of LOWBATT stops the app at every outage.)
`;

const POWER_FAIL_HELP = `Usage: twinslot power-fail [--root DIR] [--json] [MESSAGE]

Tells the supervisor that power is failing: it sends a power-fail event to the agent (a last
retained status, no new work) and stops the app gracefully. If the power comes back before the
device shuts down, \`twinslot power-restored\` undoes it.

${NOTIFY_SCRIPT}
${OPTIONS}`;

const POWER_RESTORED_HELP = `Usage: twinslot power-restored [--root DIR] [--json] [MESSAGE]

Tells the supervisor that power is back after \`twinslot power-fail\` and the device did not shut
down: the app starts again (the trial slot's during a trial, else the committed one), the agent
takes work again and publishes an online status. Does nothing without a power-fail before.

${NOTIFY_SCRIPT}
${OPTIONS}`;

function powerCommand(method: 'power-fail' | 'power-restored', summary: string, help: string, say: (r: Record<string, boolean>) => string): Command {
  return {
    summary,
    async run(argv, io) {
      const { values } = parseArgs({ args: argv, allowPositionals: true, options: { root: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
      if (values.help) {
        io.stdout.write(help);
        return 0;
      }
      const client = await connectSupervisor(devicePaths(values.root ?? '/').supervisorSocket);
      try {
        const result = await client.request(method);
        io.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${say(result)}\n`);
        return 0;
      } finally {
        client.close();
      }
    },
  };
}

export const powerRestored = powerCommand('power-restored', 'tell the supervisor power is back (for UPS daemons)', POWER_RESTORED_HELP, (r) =>
  r['restarted'] ? 'power-restored sent; app started' : 'power-restored sent; nothing to start');

export default powerCommand('power-fail', 'tell the supervisor power is failing (for UPS daemons)', POWER_FAIL_HELP, () => 'power-fail sent; app stopped');
