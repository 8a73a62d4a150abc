#!/usr/bin/env node
// Entry point of the `twinslot` command. twinslot needs Node.js 24 (type stripping, node:sqlite);
// on an older node it re-runs itself with the Node 24 that the `node` dev dependency installs
// (a device release ships its own pinned runtime and never takes this path).
import { spawn } from 'node:child_process';
import module from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, '..', 'cli', 'main.ts');
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  // Cache compiled (type-stripped) modules between runs: faster starts and ~15 MiB less memory.
  module.enableCompileCache?.();
  // Imported, cli/main.ts does not run itself (import.meta.main is false): call it here.
  const cli = await import(main);
  await cli.runFromProcess();
} else {
  const bundled = join(here, '..', 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(bundled)) {
    process.stderr.write(`twinslot needs Node.js 24 or later (this is ${process.version}); run \`npm ci\` in the twinslot checkout or install Node.js 24.\n`);
    process.exit(1);
  }
  const child = spawn(bundled, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2']) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    process.exit(code ?? 1);
  });
}
