// Child-process log lines: JSON objects parsed, other lines passed through raw, split chunks joined.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { onJsonLines } from '../../../common/json-lines.ts';

test('parses JSON lines across chunk boundaries and passes other lines raw', async () => {
  const stream = new PassThrough();
  const seen: Array<[Record<string, unknown> | undefined, string]> = [];
  onJsonLines(stream, (record, raw) => seen.push([record, raw]));
  stream.write('{"event":"a"}\n{"eve');
  stream.write('nt":"b"}\nplain text\n[1,2]\n');
  stream.end();
  await once(stream, 'end');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, [[{ event: 'a' }, '{"event":"a"}'], [{ event: 'b' }, '{"event":"b"}'], [undefined, 'plain text'], [undefined, '[1,2]']]);
});
