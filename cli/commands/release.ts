// `twinslot release`: builds the self-contained device tarballs (one per architecture) into dist/.

import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { rm } from 'node:fs/promises';
import type { Command } from '../command.ts';
import { parseArch, RELEASE_ARCHES, type ReleaseArch } from '../../installer/release/arch.ts';
import { buildRelease, type BuiltRelease } from '../../installer/release/build.ts';

const HELP = `Usage: twinslot release [options]

Builds dist/twinslot-<version>-linux-<arch>.tar.gz: pinned Node.js runtime (npm node-linux-<arch>),
production node_modules for that architecture, twinslot's sources, launcher, installer and units.
Run it from the twinslot checkout (needs npm and the npm registry or its cache).

Options:
  --arch ARCH      x64 or arm64; repeat for both (default: both)
  --out DIR        output directory (default: dist)
  --cache DIR      where runtime packages are kept (default: .tmp/release-cache)
  --stage-only     stage the release directory, do not archive it
  --keep-stage     keep the staged directory next to the tarball
  --json           print the result as JSON
  -h, --help       this help
`;

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

const command: Command = {
  summary: 'build the self-contained device release tarballs (linux-x64, linux-arm64)',
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        arch: { type: 'string', multiple: true },
        out: { type: 'string', default: 'dist' },
        cache: { type: 'string', default: '.tmp/release-cache' },
        'stage-only': { type: 'boolean', default: false },
        'keep-stage': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const arches: ReleaseArch[] = values.arch ? values.arch.map(parseArch) : [...RELEASE_ARCHES];
    const outDir = resolve(io.cwd, values.out);
    const results: BuiltRelease[] = [];
    for (const arch of arches) {
      const built = await buildRelease({
        repoDir: io.cwd, outDir, arch, cacheDir: resolve(io.cwd, values.cache), stageOnly: values['stage-only'],
      });
      if (built.tarball && !values['keep-stage']) await rm(resolve(built.dir, '..'), { recursive: true, force: true });
      results.push(built);
      if (!values.json) {
        const what = built.tarball ? `${built.tarball}  ${mib(built.bytes ?? 0)} (${String(built.bytes)} bytes)` : built.dir;
        io.stdout.write(`${arch}: ${what}  node ${built.node}\n`);
      }
    }
    if (values.json) io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return 0;
  },
};

export default command;
