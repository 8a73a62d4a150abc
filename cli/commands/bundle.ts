// `twinslot bundle keygen|create|verify|inspect`: make, sign and check bundles on a workstation.

import type { Command } from '../command.ts';
import { create, CREATE_HELP } from '../../bundle/cli/create.ts';
import { keygen, KEYGEN_HELP } from '../../bundle/cli/keygen.ts';
import { EXIT, reportFailure } from '../../bundle/cli/shared.ts';
import { inspect, INSPECT_HELP, verify, VERIFY_HELP } from '../../bundle/cli/verify.ts';

const SUBCOMMANDS = {
  keygen: { run: keygen, help: KEYGEN_HELP },
  create: { run: create, help: CREATE_HELP },
  verify: { run: verify, help: VERIFY_HELP },
  inspect: { run: inspect, help: INSPECT_HELP },
} as const;

const HELP = `Usage: twinslot bundle <keygen|create|verify|inspect> [options]

  keygen   make a signing key pair (ECDSA P-256 or Ed25519)
  create   make and sign a bundle from a directory
  verify   check a bundle's signature, manifest and every file (exit 0 when valid)
  inspect  show a bundle's manifest

Run \`twinslot bundle <subcommand> --help\` for its options. Format and error codes: bundle/README.md.
`;

function isSubcommand(name: string | undefined): name is keyof typeof SUBCOMMANDS {
  return name !== undefined && Object.hasOwn(SUBCOMMANDS, name);
}

const command: Command = {
  summary: 'make, sign, verify and inspect update bundles',
  async run(argv, io) {
    const [name, ...rest] = argv;
    if (!isSubcommand(name)) {
      const asked = name === undefined || name === '--help' || name === '-h' || name === 'help';
      (asked ? io.stdout : io.stderr).write(asked ? HELP : `twinslot bundle: unknown subcommand "${name}"\n\n${HELP}`);
      return asked && name !== undefined ? EXIT.ok : EXIT.usage;
    }
    const sub = SUBCOMMANDS[name];
    const options = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
    if (options.includes('--help') || options.includes('-h')) {
      io.stdout.write(sub.help);
      return EXIT.ok;
    }
    try {
      return await sub.run(rest, io);
    } catch (err) {
      return reportFailure(io, err, options.includes('--json'));
    }
  },
};

export default command;
