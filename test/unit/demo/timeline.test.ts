// The demo timeline: plain lines off a terminal, an in-place bar on one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createTimeline } from '../../../demo/timeline.ts';
import { renderTable, formatDuration } from '../../../common/table.ts';

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => { text += c.toString(); });
  return { out, text: () => text };
}

test('off a terminal, progress prints at most one line per quarter', () => {
  const { out, text } = capture();
  const timeline = createTimeline(out, false, () => 0);
  for (let b = 0; b <= 100; b += 5) timeline.emit({ kind: 'progress', jobId: 'job-1', phase: 'download', bytes: b, total: 100 });
  timeline.emit({ kind: 'outcome', jobId: 'job-1', ok: true, text: 'SUCCEEDED' });
  const lines = text().trim().split('\n');
  assert.equal(lines.filter((l) => l.includes('download')).length, 5, '0, 25, 50, 75 and 100 %');
  assert.match(lines.at(-1) ?? '', /job-1 +✔ SUCCEEDED/);
  assert.ok(!text().includes('\r'));
});

test('on a terminal, progress redraws one line and the next event starts a new one', () => {
  const { out, text } = capture();
  const timeline = createTimeline(out, true, () => 0);
  timeline.emit({ kind: 'progress', jobId: 'job-1', phase: 'download', bytes: 50, total: 100 });
  timeline.emit({ kind: 'progress', jobId: 'job-1', phase: 'download', bytes: 100, total: 100 });
  timeline.emit({ kind: 'trial', jobId: 'job-1', text: 'trial started' });
  assert.equal(text().split('\r').length, 3);
  assert.match(text(), /100%[^\n]*\n[^\n]*trial started\n$/);
});

test('tables pad columns and durations read naturally', () => {
  const table = renderTable(['job', 'ms'], [['job-1', '5'], ['job-22', '1234']], ['left', 'right']);
  assert.equal(table, 'job       ms\n──────  ────\njob-1      5\njob-22  1234\n');
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(12_400), '12.4 s');
  assert.equal(formatDuration(185_000), '3 min 05 s');
});
