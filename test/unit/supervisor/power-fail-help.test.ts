// `twinslot power-fail --help` and `power-restored --help` name the launcher install.sh actually
// links, so an operator who copies their NOTIFYCMD script gets commands that exist.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import powerFail, { powerRestored } from '../../../cli/commands/power-fail.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');

function sink(): { stream: Writable; text: () => string } {
  let out = '';
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { out += chunk.toString(); done(); } });
  return { stream, text: () => out };
}

for (const [name, command] of [['power-fail', powerFail], ['power-restored', powerRestored]] as const) {
  test(`${name} --help names the launcher the installer creates`, async () => {
    const installer = readFileSync(join(REPO, 'installer', 'lib', 'files.sh'), 'utf8');
    const launcher = /ensure_symlink (\/\S+\/twinslot) /.exec(installer)?.[1];
    assert.ok(launcher, 'install.sh links a launcher');
    const stdout = sink();
    const stderr = sink();
    const code = await command.run(['--help'], { stdout: stdout.stream, stderr: stderr.stream, cwd: REPO, env: {} });
    assert.equal(code, 0);
    assert.ok(stdout.text().startsWith(`Usage: twinslot ${name} `), stdout.text());
    for (const verb of ['power-fail', 'power-restored']) assert.ok(stdout.text().includes(`exec ${launcher} ${verb} ;;`), stdout.text());
    for (const path of stdout.text().match(/\/[\w./-]+/g) ?? []) {
      if (path.startsWith('/usr/')) assert.equal(path, launcher, `help names ${path}, which install.sh does not create`);
    }
  });
}
