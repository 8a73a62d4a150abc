import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, type JournalEntry } from '../../../../agent/jobs/journal.ts';
import type { Logger } from '../../../../common/log.ts';

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

test('damaged entries (garbage, truncated, wrong schema) are quarantined and logged, not thrown', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const logged: Array<Record<string, unknown>> = [];
  const log = { error: (o: Record<string, unknown>) => logged.push(o) } as unknown as Logger;
  const j = new Journal(dir, 100, log);
  j.save(entry('good', 1, false, 1));
  const good = JSON.stringify(entry('trunc', 1, false, 2));
  await writeFile(join(dir, 'garbage.1.json'), '\u0000\u0001not json');
  await writeFile(join(dir, 'trunc.1.json'), good.slice(0, good.length / 2));
  await writeFile(join(dir, 'schema.1.json'), JSON.stringify({ ...entry('schema', 1, false, 3), schema: 2 }));
  assert.deepEqual(j.all().map((e) => e.jobId), ['good']);
  assert.equal(j.get({ jobId: 'garbage', executionNumber: 1 }), undefined);
  const names = await readdir(dir);
  for (const base of ['garbage', 'trunc', 'schema']) assert.ok(names.some((n) => n.startsWith(`${base}.1.json.corrupt-`)), base);
  assert.deepEqual(logged.map((l) => l['event']), ['journal-quarantined', 'journal-quarantined', 'journal-quarantined']);
});

test('a temp file a power cut left between create and rename is removed at start, entries kept', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'twinslot-journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  new Journal(dir).save(entry('cut-job', 5, false, 1));
  new Journal(dir).save(entry('done', 1, true, 0));
  // The cut's leftover, named as a restarted agent with the same pid would name its own temp.
  const stale = `.cut-job.5.json.tmp-${process.pid}-3`;
  await writeFile(join(dir, stale), '{"schema":1,"jobId":"cut');
  const logged: Array<Record<string, unknown>> = [];
  const log = { warn: (o: Record<string, unknown>) => logged.push(o), error: (o: Record<string, unknown>) => logged.push(o) } as unknown as Logger;
  const j = new Journal(dir, 100, log);
  assert.deepEqual((await readdir(dir)).sort(), ['cut-job.5.json', 'done.1.json']);
  assert.deepEqual(logged, [{ event: 'journal-temps-removed', files: [stale] }]);
  assert.deepEqual(j.open().map((e) => `${e.jobId}#${e.executionNumber}:${e.phase.kind}`), ['cut-job#5:received']);
  j.save({ ...entry('cut-job', 5, false, 1), resumes: 1 });
  assert.equal(j.get({ jobId: 'cut-job', executionNumber: 5 })?.resumes, 1);
});
