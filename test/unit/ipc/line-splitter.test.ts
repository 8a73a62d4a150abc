// The bounded line splitter (common/line-splitter.ts) that the IPC server and client read with.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from '../../../common/line-splitter.ts';

test('lines split across chunks come out whole, in order, without their newline or CR', () => {
  const s = new LineSplitter(64);
  assert.deepEqual(s.push('{"id":1}\n{"id"'), ['{"id":1}']);
  assert.deepEqual(s.push(':2}\r\n\n'), ['{"id":2}', '']);
  assert.deepEqual(s.push(Buffer.from('tail')), []);
  assert.equal(s.pendingBytes, 4);
  assert.equal(s.end(), 'tail');
  assert.equal(s.end(), null);
  assert.equal(s.overflows, 0);
});

test('a multi-byte character split between chunks is decoded whole', () => {
  const s = new LineSplitter(64);
  const bytes = Buffer.from('grüße\n');
  assert.deepEqual(s.push(bytes.subarray(0, 3)), []);
  assert.deepEqual(s.push(bytes.subarray(3)), ['grüße']);
});

test('a line past the limit is dropped up to its newline and counted as soon as it passes', () => {
  const s = new LineSplitter(8);
  assert.deepEqual(s.push('12345678'), []); // exactly the limit: still held
  assert.equal(s.overflows, 0);
  assert.deepEqual(s.push('9'), []);
  assert.equal(s.overflows, 1, 'counted before any newline');
  assert.equal(s.pendingBytes, 0, 'nothing of it is held');
  for (let i = 0; i < 1000; i += 1) s.push('x'.repeat(1000));
  assert.equal(s.pendingBytes, 0);
  assert.deepEqual(s.push('more\nok\n'), ['ok']);
  assert.equal(s.overflows, 1);
  assert.deepEqual(s.push('123456789\nend'), []);
  assert.equal(s.overflows, 2);
  assert.equal(s.end(), 'end');
});

test('the limit is a positive integer', () => {
  assert.throws(() => new LineSplitter(0), RangeError);
  assert.throws(() => new LineSplitter(1.5), RangeError);
});
