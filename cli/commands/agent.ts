// `twinslot agent --config FILE [--root DIR]`: runs the jobs agent in the foreground.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Command } from '../command.ts';
import { devicePaths } from '../../slots/paths.ts';
import type { LogLevel } from '../../common/log.ts';

const HELP = `Usage: twinslot agent [--config FILE] [--root DIR] [--log-level LEVEL]

Keeps the MQTT connection to AWS IoT Core (or the emulator), takes jobs from AWS IoT Jobs one
at a time and carries them out through the supervisor: install (download, verify, install into
the inactive slot, activate, wait for the trial), rollback, restart-app, reboot, report.
Stops on SIGTERM/SIGINT; an interrupted job resumes at the next start.

  --config FILE      config file (default <root>/etc/twinslot/config.json)
  --root DIR         device root that every path derives from (default /)
  --log-level LEVEL  trace, debug, info (default), warn, error
  --help             this text
`;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const command: Command = {
  summary: 'run the jobs agent (AWS IoT Jobs → download, install, activate, report)',
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, root: { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean' } },
    });
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const level = values['log-level'] ?? io.env['TWINSLOT_LOG_LEVEL'] ?? 'info';
    if (!(LEVELS as readonly string[]).includes(level)) {
      io.stderr.write(`twinslot agent: --log-level must be one of ${LEVELS.join(', ')}\n`);
      return 2;
    }
    const root = values.root ?? '/';
    const { runAgent } = await import('../../agent/main.ts');
    const crashAtPhase = io.env['TWINSLOT_CRASH_AT_PHASE'];
    return runAgent({
      root, configPath: values.config ?? devicePaths(root).config, logLevel: level as LogLevel, version: packageVersion(),
      ...(crashAtPhase ? { crashAtPhase } : {}),
    });
  },
};

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

export default command;
