// `twinslot supervisor --config FILE [--root DIR]`: runs the supervisor in the foreground.

import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';
import { devicePaths } from '../../slots/paths.ts';

const HELP = `Usage: twinslot supervisor [--config FILE] [--root DIR]

Runs the application from the active slot, holds the watchdog, decides commit or rollback of
trials, and serves IPC on <root>/run/twinslot/supervisor.sock. Stops on SIGTERM/SIGINT (app
stopped gracefully, watchdog magic-closed); SIGHUP reloads the config. A failure once the
watchdog is open (start-up, uncaught error) stops petting, leaves the watchdog armed, releases
the socket and the app, and exits 1.

  --config FILE  config file (default <root>/etc/twinslot/config.json)
  --root DIR     device root that every path derives from (default /)
  --help         this text
`;

const command: Command = {
  summary: 'run the app supervisor (watchdog, A/B slots, trials, IPC)',
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, root: { type: 'string' }, help: { type: 'boolean' } } });
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const root = values.root ?? '/';
    const { runSupervisor } = await import('../../supervisor/main.ts');
    return runSupervisor({ root, configPath: values.config ?? devicePaths(root).config });
  },
};

export default command;
