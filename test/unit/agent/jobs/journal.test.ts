import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, type JournalEntry } from '../../../../agent/jobs/journal.ts';

function entry(jobId: string, executionNumber: number, closed: boolean, at: number): JournalEntry {
  return {
    schema: 1, jobId, executionNumber, document: { operation: 'report' }, resumes: 0, receivedAt: at, updatedAt: at, phaseSince: at,
    phase: closed ? { kind: 'closed', final: null, why: 'canceled' } : { kind: 'received' },
  };
}

test('entries are kept per job execution and survive a new instance', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const j = new Journal(dir);
  j.save(entry('job-1', 1, false, 1));
  j.save(entry('job-1', 2, true, 2));
  const again = new Journal(dir);
  assert.equal(again.get({ jobId: 'job-1', executionNumber: 1 })?.phase.kind, 'received');
  assert.equal(again.get({ jobId: 'job-1', executionNumber: 2 })?.phase.kind, 'closed');
  assert.equal(again.get({ jobId: 'job-1', executionNumber: 3 }), undefined);
  assert.deepEqual(again.open().map((e) => e.executionNumber), [1]);
  assert.ok((await readdir(dir)).every((n) => !n.includes('.tmp-')));
});

test('prune keeps the newest closed entries and every open one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const j = new Journal(dir, 2);
  for (let i = 0; i < 5; i += 1) j.save(entry(`job-${i}`, 1, true, i));
  j.save(entry('open', 1, false, 0));
  j.prune();
  assert.deepEqual(j.all().map((e) => e.jobId).sort(), ['job-3', 'job-4', 'open']);
});

test('job ids that are not AWS job ids are refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.throws(() => new Journal(dir).get({ jobId: '../x', executionNumber: 1 }), /JOURNAL_KEY_INVALID|invalid job execution/);
});
