// The `twinslot` command runs the CLI whichever node starts it: on Node 24 directly, on an older
// node by re-running itself with the Node 24 of the checkout.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'twinslot.js');
const systemNode = '/usr/bin/node';

test('on Node 24, --help lists the commands and exits 0', async () => {
  const { stdout } = await run(process.execPath, [bin, '--help']);
  assert.match(stdout, /Usage: twinslot <command>/);
  assert.match(stdout, /bundle/);
});

test('an unknown command exits 2 with a message', async () => {
  await assert.rejects(run(process.execPath, [bin, 'no-such-command']), (err: { code?: number; stderr?: string }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr ?? '', /unknown command "no-such-command"/);
    return true;
  });
});

test('on an older node, the command re-runs itself on Node 24', { skip: existsSync(systemNode) ? false : 'no system node' }, async () => {
  const { stdout: version } = await run(systemNode, ['--version']);
  const { stdout } = await run(systemNode, [bin, '--version']);
  assert.match(stdout, /^\d+\.\d+\.\d+\n$/);
  const { stdout: help } = await run(systemNode, [bin, '--help']);
  assert.match(help, /Usage: twinslot <command>/, `started by ${version.trim()}`);
});
