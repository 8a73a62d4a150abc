// Jobs the agent must refuse, each with its stable reason, without touching the running app:
// invalid documents (REJECTED with the schema path), version and device-type rules, too little
// disk, and every kind of hostile bundle (FAILED with the bundle's code, active slot unchanged).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, lstatSync, readlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { link, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gnuTar, opensslKeyId } from '../../../fixtures/bundle/kit.ts';
import { scene } from '../../../fixtures/bundle/scene.ts';
import { waitForVersion } from '../../supervisor/harness.ts';
import { detailsOf, installDoc, startRig, type BundleInfo } from './rig.ts';

test('invalid documents are REJECTED with the schema path; version and type rules; queued jobs in order', { timeout: 240_000 }, async (t) => {
  const rig = await startRig(t);
  const good = await rig.bundle('1.0.0');
  const jobs: Array<[string, object, string, string | RegExp]> = [
    ['bad-op', { twinslot: 1, operation: 'format-disk' }, 'REJECTED', /#\/properties\/operation\/enum/],
    ['bad-sha', installDoc({ ...good, sha256: 'xyz' }, { version: '2.0.0' }), 'REJECTED', /sha256\/pattern/],
    ['same-version', installDoc(good), 'SUCCEEDED', 'ALREADY_INSTALLED'],
    ['downgrade', installDoc({ ...good, version: '0.9.0' }), 'FAILED', 'VERSION_DOWNGRADE'],
    ['other-device', installDoc({ ...good, version: '3.0.0' }, { compatible: ['other-board'] }), 'FAILED', 'INCOMPATIBLE_DEVICE'],
  ];
  for (const [jobId, doc] of jobs) rig.createJob(jobId, doc);
  const agent = await rig.startAgent();
  for (const [jobId, , status, expected] of jobs) {
    const final = await rig.finalOf(jobId);
    assert.equal(final['status'], status, `${jobId}: ${JSON.stringify(final)}`);
    const details = detailsOf(final);
    if (typeof expected === 'string') assert.equal(details['reason'], expected, jobId);
    else {
      assert.equal(details['reason'], 'DOCUMENT_INVALID', jobId);
      assert.match(details['message'] ?? '', expected, jobId);
    }
  }
  const order = agent.logs.filter((l) => l['event'] === 'job-received').map((l) => l['jobId']);
  assert.deepEqual(order, jobs.map(([id]) => id));
  assert.equal(agent.logs.some((l) => l['event'] === 'job-phase' && l['to'] === 'downloading'), false, 'nothing was downloaded');
  await waitForVersion(rig.appPort, '1.0.0');
});

test('too little disk space fails with INSUFFICIENT_SPACE before any download', { timeout: 240_000 }, async (t) => {
  const rig = await startRig(t, { agent: { update: { reserveBytes: 2 ** 52 } } });
  const bundle = await rig.bundle('1.1.0');
  const agent = await rig.startAgent();
  rig.createJob('no-space', installDoc(bundle));
  const final = await rig.finalOf('no-space');
  assert.equal(final['status'], 'FAILED');
  assert.equal(detailsOf(final)['reason'], 'INSUFFICIENT_SPACE');
  assert.equal(agent.logs.some((l) => l['event'] === 'job-phase' && l['to'] === 'downloading'), false);
});

test('each hostile bundle fails with its code and the active slot stays byte-identical', { timeout: 300_000 }, async (t) => {
  const rig = await startRig(t);
  const s = await scene(t);
  copyFileSync(s.keys.ecdsa.pub, join(rig.device.paths.trustDir, 'scene.pem'));
  const m = (extra = {}): ReturnType<typeof s.manifest> => s.manifest({ version: '2.0.0', ...extra });
  const hostile: Array<[string, () => Promise<void>]> = [
    ['BUNDLE_ENTRY_NOT_IN_MANIFEST', async () => {
      await writeFile(join(s.payload, 'smuggled'), 'x');
      await gnuTar(s.at('out.tar'), await s.head(m()), s.payload, [...s.paths, 'smuggled']);
    }],
    ['BUNDLE_CHECKSUM_MISMATCH', async () => {
      const head = await s.head(m());
      await writeFile(join(s.payload, 'lib/data.txt'), 'SOME DATA\n');
      await gnuTar(s.at('out.tar'), head, s.payload, s.paths);
      await writeFile(join(s.payload, 'lib/data.txt'), 'some data\n');
    }],
    ['BUNDLE_PATH_TRAVERSAL', async () => {
      await gnuTar(s.at('out.tar'), await s.head(m()), s.payload, [...s.paths, 'lib/data.txt'], { extra: ['-P', '--transform', 's,^lib/data.txt$,../../escaped,'] });
    }],
    ['BUNDLE_SYMLINK_ESCAPE', async () => {
      await execa('ln', ['-sf', '../../../etc/passwd', join(s.payload, 'lib/passwd')]);
      await gnuTar(s.at('out.tar'), await s.head(m()), s.payload, [...s.paths, 'lib/passwd']);
    }],
    ['BUNDLE_HARDLINK', async () => {
      await link(join(s.payload, 'lib/data.txt'), join(s.payload, 'lib/again.txt')).catch(() => undefined);
      await gnuTar(s.at('out.tar'), await s.head(m()), s.payload, [...s.paths, 'lib/again.txt']);
    }],
    ['BUNDLE_DEVICE_NODE', async () => {
      await gnuTar(s.at('out.tar'), await s.head(m()), '/', ['dev/null'], { extra: ['--transform', 's,^dev/null$,lib/null,'] });
    }],
    ['BUNDLE_SIGNATURE_INVALID', async () => {
      const head = await s.head(m());
      writeFileSync(join(head, 'manifest.json'), `${JSON.stringify(m({ version: '6.6.6' }), null, 2)}\n`);
      await gnuTar(s.at('out.tar'), head, s.payload, s.paths);
    }],
    ['BUNDLE_UNTRUSTED_KEY', async () => {
      const head = await s.head(m({ keyId: await opensslKeyId(s.keys.ed25519.pub) }), s.keys.ed25519.key);
      await gnuTar(s.at('out.tar'), head, s.payload, s.paths);
    }],
  ];
  const before = snapshot(rig.device.paths.slot('a'));
  await rig.startAgent();
  const made: Array<[string, BundleInfo]> = [];
  for (const [code, build] of hostile) {
    await build();
    const name = `hostile-${made.length}.tar`;
    const { size } = await rig.emulator.upload(s.at('out.tar'), `s3://releases/${name}`);
    const sha256 = createHash('sha256').update(readFileSync(s.at('out.tar'))).digest('hex');
    made.push([code, { file: s.at('out.tar'), size, sha256, version: '2.0.0', name, url: `\${aws:iot:s3-presigned-url:https://s3.us-east-1.amazonaws.com/releases/${name}}` }]);
  }
  for (const [i, [code, b]] of made.entries()) {
    rig.createJob(`hostile-${i}`, installDoc(b));
    const final = await rig.finalOf(`hostile-${i}`);
    assert.equal(final['status'], 'FAILED', code);
    assert.equal(detailsOf(final)['reason'], code, JSON.stringify(detailsOf(final)));
  }
  assert.deepEqual(snapshot(rig.device.paths.slot('a')), before);
  await waitForVersion(rig.appPort, '1.0.0');
});

// Every path under `dir` with its type and content hash.
function snapshot(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const path = join(rel, name);
    const st = lstatSync(join(dir, path));
    if (st.isDirectory()) out.push(`${path}/ ${st.mode}`, ...snapshot(dir, path));
    else if (st.isSymbolicLink()) out.push(`${path} -> ${readlinkSync(join(dir, path))}`);
    else out.push(`${path} ${st.mode} ${createHash('sha256').update(readFileSync(join(dir, path))).digest('hex')}`);
  }
  return out;
}
