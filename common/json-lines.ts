// Structured log lines from a child process: one JSON object per line, as common/log.ts writes.

import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** Calls `onLine` for each line of `stream`, with the parsed object, or undefined when the line is not JSON. */
export function onJsonLines(stream: Readable | null, onLine: (record: Record<string, unknown> | undefined, raw: string) => void): void {
  if (!stream) return;
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (raw) => {
    let record: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) record = parsed as Record<string, unknown>;
    } catch {
      record = undefined;
    }
    onLine(record, raw);
  });
}
