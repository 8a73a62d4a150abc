import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync, readFileSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devicePaths, type DevicePaths } from '../../../slots/paths.ts';
import { SlotStore } from '../../../slots/store.ts';
import { initialState, parseState } from '../../../slots/state.ts';
import { silentLogger } from '../../../common/log.ts';
import { beginTrial, prepare, ready } from '../../../slots/transitions.ts';

function setup(t: { after(fn: () => void): void }): { paths: DevicePaths; store: SlotStore } {
  const root = mkdtempSync(join(tmpdir(), 'twinslot-store-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const paths = devicePaths(root);
  mkdirSync(paths.slot('a'), { recursive: true });
  mkdirSync(paths.slot('b'), { recursive: true });
  return { paths, store: new SlotStore(paths, silentLogger()) };
}

function trialState() {
  const p = prepare(initialState('a'), 1);
  return beginTrial(ready(p.state, 'b', '2.0.0', 'c'.repeat(64)), { slot: 'b', jobId: 'j', kind: 'update', attempts: 2, bootId: 'x', now: 2, reboot: false });
}

test('save then load round-trips and counts the sequence', (t) => {
  const { store } = setup(t);
  const saved = store.save(trialState());
  assert.equal(saved.seq, 1);
  const loaded = store.load();
  assert.equal(loaded.source, 'state');
  assert.deepEqual(loaded.state, saved);
});

test('removeInterruptedWrites removes the temp copies a power cut left and keeps the state', (t) => {
  const { paths, store } = setup(t);
  const saved = store.save(trialState());
  const dir = join(paths.state, '..');
  // One per naming scheme: pid-counter (older) and pid-counter-random.
  writeFileSync(join(dir, '.state.json.tmp-168-3'), '{"seq":');
  writeFileSync(join(dir, '.state.json.prev.tmp-168-4-0a1b2c3d'), '');
  store.removeInterruptedWrites();
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
  assert.deepEqual(store.load().state, saved);
  assert.ok(readdirSync(dir).includes('state.json.prev'), 'the copy is kept');
});

test('a fresh device loads an empty default without complaint', (t) => {
  const { store } = setup(t);
  const loaded = store.load();
  assert.equal(loaded.source, 'default');
  assert.equal(loaded.state.committed, null);
});

for (const [name, bytes] of [
  ['garbage bytes', '\x00\xff\x13garbage'],
  ['an empty file', ''],
  ['truncated JSON', '{"schema":1,"seq":3,"slots":{"a":'],
  ['a wrong schema', JSON.stringify({ ...initialState('a'), schema: 99 })],
  ['a wrong shape', JSON.stringify({ ...initialState('a'), slots: { a: { status: 'weird' }, b: {} } })],
] as const) {
  test(`state.json with ${name} is recovered from the last good copy`, (t) => {
    const { paths, store } = setup(t);
    const saved = store.save(trialState());
    writeFileSync(paths.state, bytes);
    const loaded = store.load();
    assert.equal(loaded.source, 'backup');
    assert.deepEqual(loaded.state, saved);
    assert.ok(loaded.problem);
  });

  test(`state.json and its copy both with ${name}: the slot current names stays committed`, (t) => {
    const { paths, store } = setup(t);
    writeFileSync(join(paths.slot('b'), 'manifest.json'), JSON.stringify({ version: '3.1.4' }));
    store.flipCurrent('b');
    writeFileSync(paths.state, bytes);
    writeFileSync(paths.stateBackup, bytes);
    const loaded = store.load();
    assert.equal(loaded.source, 'default');
    assert.equal(loaded.state.committed, 'b');
    assert.deepEqual(loaded.state.slots.b, { status: 'ready', version: '3.1.4', manifestSha256: '' });
    assert.equal(loaded.state.trial, null);
  });
}

test('flipCurrent replaces the link in place; readCurrent reads it; clearCurrent removes it', (t) => {
  const { paths, store } = setup(t);
  assert.equal(store.readCurrent(), null);
  store.flipCurrent('a');
  store.flipCurrent('b');
  assert.equal(readlinkSync(paths.current), join('slots', 'b'));
  assert.equal(store.readCurrent(), 'b');
  store.clearCurrent();
  assert.equal(store.readCurrent(), null);
});

test('the written file is the parsed state, pretty-printed', (t) => {
  const { paths, store } = setup(t);
  const saved = store.save(initialState('a'));
  assert.deepEqual(parseState(readFileSync(paths.state, 'utf8')), saved);
  assert.deepEqual(parseState(readFileSync(paths.stateBackup, 'utf8')), saved);
});

test('a rebuilt state never reads a manifest through a symlink, nor blocks on a FIFO', (t) => {
  const { paths, store } = setup(t);
  const secret = join(paths.root, 'secret.json');
  writeFileSync(secret, JSON.stringify({ version: '6.6.6' }));
  symlinkSync(secret, join(paths.slot('b'), 'manifest.json'));
  store.flipCurrent('b');
  assert.deepEqual(store.load().state.slots.b, { status: 'ready', version: '0.0.0-unknown', manifestSha256: '' });
  rmSync(join(paths.slot('b'), 'manifest.json'));
  execFileSync('mkfifo', [join(paths.slot('b'), 'manifest.json')]);
  assert.equal(store.load().state.committed, 'b', 'returns instead of waiting for a writer');
});
