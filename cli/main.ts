// `twinslot <command> [args]`: the one entry point. Reads argv and process state here and
// nowhere below.

import type { CliIo } from './command.ts';
import { COMMANDS } from './registry.ts';
import { CodedError, messageOf } from '../common/errors.ts';

const VERSION = '0.1.0';

async function usage(io: CliIo): Promise<void> {
  const lines = ['Usage: twinslot <command> [options]', '', 'Commands:'];
  const names = Object.keys(COMMANDS).sort();
  const width = Math.max(...names.map((n) => n.length), 8);
  for (const name of names) {
    const loader = COMMANDS[name];
    if (!loader) continue;
    const command = await loader();
    lines.push(`  ${name.padEnd(width)}  ${command.summary}`);
  }
  lines.push('', 'Run `twinslot <command> --help` for the options of a command.', '');
  io.stdout.write(lines.join('\n'));
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    await usage(io);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const loader = COMMANDS[name];
  if (!loader) {
    io.stderr.write(`twinslot: unknown command "${name}". Run \`twinslot --help\`.\n`);
    return 2;
  }
  const command = await loader();
  try {
    return await command.run(rest, io);
  } catch (err) {
    const code = err instanceof CodedError ? `${err.code}: ` : '';
    io.stderr.write(`twinslot ${name}: ${code}${messageOf(err)}\n`);
    return 1;
  }
}

/** The process-level entry: real streams, argv and exit code. */
export async function runFromProcess(): Promise<void> {
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
  process.exitCode = await main(process.argv.slice(2), io);
}

if (import.meta.main) await runFromProcess();
