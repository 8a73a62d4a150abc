// The app runner's output forwarding with real processes: lines as the app wrote them, a line
// longer than 16 KiB in pieces marked truncated, and what is over the rate limit dropped and
// counted in `app-output-dropped`, with nothing held beyond a piece.

import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import type { AppRunner } from '../../../supervisor/ports.ts';
import { createAppRunner } from '../../../supervisor/runner/index.ts';
import { captureLog, fixtureSpec, type CapturedLog } from '../../fixtures/apps/harness.ts';

const QUIET = { backoff: { initialMs: 20, factor: 1.5, maxMs: 100, stableMs: 60_000 }, crashLoop: { restarts: 4, windowMs: 60_000 } };
const KIB = 1024;

async function run(payload: Buffer): Promise<{ log: CapturedLog; runner: AppRunner }> {
  const log = captureLog();
  const runner = createAppRunner({ logger: log.logger, stopTimeoutMs: 1000, ...QUIET });
  after(() => runner.stop());
  await runner.start(fixtureSpec('floods-output.mjs', { FLOOD: 'payload', PAYLOAD_B64: payload.toString('base64') }));
  return { log, runner };
}

const output = (log: CapturedLog): Record<string, unknown>[] => log.lines.filter((l) => l['event'] === 'app-output');

describe('app output forwarding', () => {
  it('forwards lines as written: split across writes, CRLF, multi-byte characters, an unfinished last line at the end', async () => {
    const { log, runner } = await run(Buffer.from('one\r\ntwo grüße\n\nthree'));
    await log.waitFor((l) => l['line'] === 'two grüße');
    assert.deepEqual(output(log).map((l) => l['line']), ['one', 'two grüße', '']);
    await runner.stop();
    await log.waitFor((l) => l['line'] === 'three');
    assert.deepEqual(output(log).map((l) => l['line']), ['one', 'two grüße', '', 'three']);
    assert.equal(output(log).some((l) => 'truncated' in l), false);
  });

  it('sends a line longer than 16 KiB in 16 KiB pieces marked truncated, never cutting a character', async () => {
    const long = `${'a'.repeat(16 * KIB - 1)}é${'b'.repeat(20 * KIB)}`;
    const { log } = await run(Buffer.from(`${long}\nafter\n`));
    await log.waitFor((l) => l['line'] === 'after');
    const pieces = output(log).filter((l) => l['truncated'] === true).map((l) => String(l['line']));
    assert.equal(pieces.join(''), long, 'the pieces are the line');
    assert.equal(pieces.length, 3);
    assert.equal(Buffer.byteLength(pieces[0] ?? ''), 16 * KIB - 1, 'the cut falls before the two-byte é, not inside it');
    for (const p of pieces) assert.ok(Buffer.byteLength(p) <= 16 * KIB);
    assert.equal(output(log).find((l) => l['line'] === 'after')?.['truncated'], undefined, 'the next line is whole');
  });

  it('drops what is over the rate limit and counts it in app-output-dropped', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`);
    const { log } = await run(Buffer.from(`${lines.join('\n')}\n`));
    const dropped = await log.waitFor((l) => l['event'] === 'app-output-dropped');
    const forwarded = output(log).length;
    assert.ok(forwarded >= 1000 && forwarded < 1200, `the burst (1000) went out, little more: ${forwarded}`);
    assert.equal(Number(dropped['lines']) + forwarded, 5000, 'every line is either forwarded or counted');
    assert.deepEqual(output(log).slice(0, 3).map((l) => l['line']), ['line 0', 'line 1', 'line 2']);
    assert.equal(dropped['app'], 'floods-output');
  });
});
