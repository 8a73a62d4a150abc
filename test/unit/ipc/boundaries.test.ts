// The boundary between the two processes: ipc/ is the one contract the supervisor and the agent
// share, so it imports neither of them, and the on-disk contract (slots/) imports no process.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

// Top-level folders each file of `dir` imports (relative specifiers, resolved).
function importedFolders(dir: string): Map<string, string> {
  const seen = new Map<string, string>();
  for (const file of sources(join(repo, dir))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = relative(repo, resolve(dirname(file), m[1] ?? ''));
      const top = target.split('/')[0] ?? '';
      if (!seen.has(top)) seen.set(top, relative(repo, file));
    }
  }
  return seen;
}

test('ipc/ imports neither the supervisor nor the agent', () => {
  const folders = importedFolders('ipc');
  for (const forbidden of ['supervisor', 'agent', 'cli', 'demo']) {
    assert.equal(folders.get(forbidden), undefined, `${folders.get(forbidden)} imports ${forbidden}/`);
  }
});

test('slots/ imports neither the supervisor nor the agent', () => {
  const folders = importedFolders('slots');
  for (const forbidden of ['supervisor', 'agent', 'ipc']) {
    assert.equal(folders.get(forbidden), undefined, `${folders.get(forbidden)} imports ${forbidden}/`);
  }
});

test('the agent reaches the supervisor only through ipc/', () => {
  const folders = importedFolders('agent');
  assert.equal(folders.get('supervisor'), undefined, `${folders.get('supervisor')} imports supervisor/`);
});
