// Follows one job on the timeline until its execution is terminal: the execution's status and
// statusDetails (phase, progress) as the agent reports them, polled from the emulator's job
// control like `twinslot job describe-execution`; during the download, also the size of the
// agent's partial file, so the bar moves between the agent's throttled progress updates.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobsControl } from '../emulator/jobs-control.ts';
import type { Timeline } from './timeline.ts';

const POLL_MS = 100;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT', 'CANCELED', 'REMOVED']);

export interface JobWatch {
  control: Pick<JobsControl, 'describeJobExecution'>;
  timeline: Timeline;
  thingName: string;
  jobId: string;
  size: number;
  /** The agent's downloads directory (partial bundles are `<jobId>.<executionNumber>.bundle`). */
  downloadsDir: string;
  signal: AbortSignal;
  deadlineMs: number;
}

export interface FinalExecution {
  status: string;
  details: Record<string, string>;
}

/** Polls until the execution of `jobId` is terminal; rejects on abort or at the deadline. */
export async function followJob(w: JobWatch): Promise<FinalExecution> {
  const deadline = Date.now() + w.deadlineMs;
  let shown = '';
  let bytesShown = -1;
  for (;;) {
    w.signal.throwIfAborted();
    if (Date.now() > deadline) throw new Error(`${w.jobId} did not finish within ${w.deadlineMs / 1000} s (last: ${shown || 'not started'})`);
    const execution = describe(w);
    if (execution) {
      const { status, details, executionNumber } = execution;
      const phase = details['phase'] ?? '';
      const key = `${status}/${phase}`;
      if (TERMINAL.has(status)) {
        w.timeline.flush();
        return { status, details };
      }
      if (key !== shown) {
        shown = key;
        w.timeline.emit({ kind: 'job', jobId: w.jobId, text: phase ? `${status} · ${phase}` : status });
      }
      if (phase === 'downloading') {
        const bytes = Math.max(Number(details['bytes'] ?? 0), await partialSize(w, executionNumber));
        if (bytes !== bytesShown) {
          bytesShown = bytes;
          w.timeline.emit({ kind: 'progress', jobId: w.jobId, phase: 'download', bytes: Math.min(bytes, w.size), total: w.size });
        }
      } else if (bytesShown >= 0 && bytesShown < w.size && phase !== '') {
        // The last bytes arrived between two polls: show the bar full before moving on.
        bytesShown = w.size;
        w.timeline.emit({ kind: 'progress', jobId: w.jobId, phase: 'download', bytes: w.size, total: w.size });
      }
    }
    await sleep(POLL_MS, undefined, { signal: w.signal });
  }
}

function describe(w: JobWatch): { status: string; details: Record<string, string>; executionNumber: number } | undefined {
  let execution: Record<string, unknown>;
  try {
    execution = w.control.describeJobExecution({ jobId: w.jobId, thingName: w.thingName }).execution;
  } catch {
    return undefined;
  }
  const details = (execution['statusDetails'] as { detailsMap?: Record<string, string> } | undefined)?.detailsMap ?? {};
  return { status: String(execution['status']), details, executionNumber: Number(execution['executionNumber'] ?? 1) };
}

async function partialSize(w: JobWatch, executionNumber: number): Promise<number> {
  try {
    return (await stat(join(w.downloadsDir, `${w.jobId}.${executionNumber}.bundle`))).size;
  } catch {
    return 0;
  }
}
