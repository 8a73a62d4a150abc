// `twinslot power-fail --help` names the launcher install.sh actually links, so an operator who
// copies it into upsmon.conf gets a command that exists.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import command from '../../../cli/commands/power-fail.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');

function sink(): { stream: Writable; text: () => string } {
  let out = '';
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { out += chunk.toString(); done(); } });
  return { stream, text: () => out };
}

test('power-fail --help names the launcher the installer creates', async () => {
  const installer = readFileSync(join(REPO, 'installer', 'lib', 'files.sh'), 'utf8');
  const launcher = /ensure_symlink (\/\S+\/twinslot) /.exec(installer)?.[1];
  assert.ok(launcher, 'install.sh links a launcher');
  const stdout = sink();
  const stderr = sink();
  const code = await command.run(['--help'], { stdout: stdout.stream, stderr: stderr.stream, cwd: REPO, env: {} });
  assert.equal(code, 0);
  assert.ok(stdout.text().includes(`NOTIFYCMD "${launcher} power-fail"`), stdout.text());
  for (const path of stdout.text().match(/\/[\w./-]+/g) ?? []) {
    if (path.startsWith('/usr/')) assert.equal(path, launcher, `help names ${path}, which install.sh does not create`);
  }
});
