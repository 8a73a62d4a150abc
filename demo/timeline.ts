// The demo's live timeline: one line per event with the time since start; download progress is
// a bar redrawn in place on a terminal, and a few plain lines otherwise (logs, CI).

import { formatMiB } from '../common/table.ts';

export type TimelineEvent =
  | { kind: 'step'; text: string }
  | { kind: 'job'; jobId: string; text: string }
  | { kind: 'progress'; jobId: string; phase: string; bytes: number; total: number }
  | { kind: 'trial'; jobId: string; text: string }
  | { kind: 'outcome'; jobId: string; ok: boolean; text: string };

export interface Timeline {
  emit(event: TimelineEvent): void;
  /** Ends an in-place progress line so the next output starts on a fresh line. */
  flush(): void;
}

const BAR = 24;

function bar(fraction: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * BAR);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}]`;
}

/** A timeline writing to `out`; `tty` chooses the in-place progress bar. */
export function createTimeline(out: NodeJS.WritableStream, tty: boolean, now: () => number = () => Date.now()): Timeline {
  const t0 = now();
  let progressOpen = false;
  const lastQuarter = new Map<string, number>();

  const stamp = (): string => `+${((now() - t0) / 1000).toFixed(1).padStart(5)}s`;
  const closeProgress = (): void => {
    if (progressOpen) out.write('\n');
    progressOpen = false;
  };
  const line = (text: string): void => {
    closeProgress();
    out.write(`${stamp()}  ${text}\n`);
  };

  return {
    emit: (event) => {
      switch (event.kind) {
        case 'step':
          line(event.text);
          return;
        case 'job':
          line(`${event.jobId.padEnd(10)} ${event.text}`);
          return;
        case 'trial':
          line(`${event.jobId.padEnd(10)} ${event.text}`);
          return;
        case 'outcome':
          line(`${event.jobId.padEnd(10)} ${event.ok ? '✔' : '✘'} ${event.text}`);
          return;
        case 'progress': {
          const fraction = event.total > 0 ? event.bytes / event.total : 0;
          const text = `${event.jobId.padEnd(10)} ${event.phase} ${bar(fraction)} ${Math.floor(fraction * 100)}% ${formatMiB(event.bytes)} / ${formatMiB(event.total)}`;
          if (tty) {
            out.write(`\r${stamp()}  ${text}\x1b[K`);
            progressOpen = true;
            return;
          }
          const quarter = Math.floor(fraction * 4);
          if ((lastQuarter.get(event.jobId) ?? -1) < quarter) {
            lastQuarter.set(event.jobId, quarter);
            line(text);
          }
          return;
        }
      }
    },
    flush: closeProgress,
  };
}
