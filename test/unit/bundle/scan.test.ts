// bundle create's scan of a source tree: modes as the slot will have them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanTree } from '../../../bundle/scan.ts';

test('group and other write bits of the source tree are dropped (a tree made under umask 002 still bundles)', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'twinslot-scan-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'lib'));
  chmodSync(join(root, 'lib'), 0o775);
  writeFileSync(join(root, 'lib', 'run'), '#!/bin/sh\n');
  chmodSync(join(root, 'lib', 'run'), 0o777);
  writeFileSync(join(root, 'data'), 'x');
  chmodSync(join(root, 'data'), 0o666);
  const modes = Object.fromEntries((await scanTree(root)).map((f) => [f.path, f.type === 'symlink' ? null : f.mode]));
  assert.deepEqual(modes, { data: 0o644, lib: 0o755, 'lib/run': 0o755 });
});
