// Users and groups without getent (busybox-only images): /etc/passwd and /etc/group are read
// directly, with the same answers and errors as through getent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNssEntry, groupId, userEntry, userIds } from '../../../supervisor/ids.ts';

const PASSWD = [
  '# local users',
  'root:x:0:0:root:/root:/bin/sh',
  '',
  'twinslot:x:998:997:twinslot agent:/var/lib/twinslot:/sbin/nologin\r',
  '+nis-user::::::',
  'broken:x::12:no uid:/:/bin/sh',
  'short:x:5',
  'twinslot:x:1:1:a later duplicate:/:/bin/sh',
].join('\n');

const GROUP = ['root:x:0:', 'twinslot:x:997:agent,app', 'nogid:x::', 'empty'].join('\n');

test('findNssEntry: first matching line, exact name, comments/blank/NIS lines and CR ignored', () => {
  assert.deepEqual(findNssEntry(PASSWD, 'twinslot'), ['twinslot', 'x', '998', '997', 'twinslot agent', '/var/lib/twinslot', '/sbin/nologin']);
  assert.deepEqual(findNssEntry(PASSWD, 'root')[2], '0');
  assert.deepEqual(findNssEntry(PASSWD, 'twin'), [], 'no prefix match');
  assert.deepEqual(findNssEntry(PASSWD, '+nis-user'), []);
  assert.deepEqual(findNssEntry(PASSWD, '# local users'), []);
  assert.deepEqual(findNssEntry('', 'root'), []);
  assert.deepEqual(findNssEntry(GROUP, 'twinslot'), ['twinslot', 'x', '997', 'agent,app']);
});

test('without getent: ids come from <etc>/passwd and <etc>/group; unknown or broken entries are coded errors', async (t) => {
  const etcDir = mkdtempSync(join(tmpdir(), 'twinslot-etc-'));
  t.after(() => rmSync(etcDir, { recursive: true, force: true }));
  writeFileSync(join(etcDir, 'passwd'), PASSWD);
  writeFileSync(join(etcDir, 'group'), GROUP);
  const opts = { getent: 'twinslot-no-such-getent', etcDir };

  assert.deepEqual(await userIds('twinslot', opts), { uid: 998, gid: 997 });
  assert.deepEqual(await userIds('root', opts), { uid: 0, gid: 0 });
  assert.deepEqual(await userEntry('twinslot', opts), { uid: 998, gid: 997, home: '/var/lib/twinslot' }, 'home for the app user\'s HOME');
  assert.equal(await groupId('twinslot', opts), 997);
  assert.equal(await groupId('4242', opts), 4242, 'a number is taken as is');
  for (const name of ['nobody-here', 'broken', 'short']) {
    await assert.rejects(userIds(name, opts), { code: 'USER_UNKNOWN', message: `no such user: ${name}` });
  }
  for (const name of ['nobody-here', 'nogid', 'empty']) {
    await assert.rejects(groupId(name, opts), { code: 'GROUP_UNKNOWN', message: `no such group: ${name}` });
  }
  const bare = { getent: 'twinslot-no-such-getent', etcDir: join(etcDir, 'missing') };
  await assert.rejects(groupId('root', bare), { code: 'GROUP_UNKNOWN' }, 'no group file: unknown, not a crash');
});

test('with getent, its answer is used (the real system knows root)', async () => {
  assert.deepEqual(await userIds('root'), { uid: 0, gid: 0 });
  assert.equal((await userEntry('root')).home, '/root');
  assert.equal(await groupId('root'), 0);
  await assert.rejects(groupId('twinslot-no-such-group-x'), { code: 'GROUP_UNKNOWN' });
});
