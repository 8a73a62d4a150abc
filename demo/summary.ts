// The demo's result: one row per job with what was expected and what happened, the verdict,
// and its two renderings (a table for people, JSON for scripts and tests).

import { formatDuration, renderTable } from '../common/table.ts';

export interface JobRow {
  job: string;
  version: string;
  expected: 'SUCCEEDED' | 'FAILED';
  /** The execution's final status. */
  outcome: string;
  reason: string;
  message: string;
  durationMs: number;
  /** Total time the prober got no answer while this job ran. */
  downtimeMs: number;
  outages: number;
  /** From the failed health verdict to the old version answering; null without a rollback. */
  rollbackMs: number | null;
  /** Version answering when the job was over. */
  answering: string | null;
}

export interface DemoResult {
  ok: boolean;
  /** Why not ok ("" when ok). */
  reason: string;
  root: string;
  kept: boolean;
  durationMs: number;
  jobs: JobRow[];
}

/** Why `rows` are not the expected outcome (job 1 committed, job 2 rolled back), or "". */
export function verdictOf(rows: JobRow[], finalVersion: string): string {
  for (const row of rows) {
    if (row.outcome !== row.expected) return `${row.job} (v${row.version}) ended ${row.outcome} (${row.reason}), expected ${row.expected}`;
    if (row.answering !== finalVersion) return `after ${row.job}, v${row.answering ?? 'nothing'} answered instead of v${finalVersion}`;
    if (row.expected === 'FAILED' && row.rollbackMs === null) return `${row.job} failed but no rollback to v${finalVersion} was seen`;
  }
  return '';
}

/** The summary table. */
export function renderSummary(result: DemoResult): string {
  const rows = result.jobs.map((r) => [
    r.job, `v${r.version}`, r.outcome === 'SUCCEEDED' ? 'committed (SUCCEEDED)' : `rolled back (${r.outcome}: ${r.reason})`,
    formatDuration(r.durationMs), `${formatDuration(r.downtimeMs)} in ${r.outages} outage${r.outages === 1 ? '' : 's'}`,
    r.rollbackMs === null ? '–' : formatDuration(r.rollbackMs),
  ]);
  const table = renderTable(['job', 'version', 'outcome', 'duration', 'app downtime', 'rollback time'], rows, ['left', 'left', 'left', 'right', 'right', 'right']);
  const verdict = result.ok
    ? `✔ as expected: the good release was committed, the bad one rolled back; v${result.jobs.at(-1)?.answering ?? '?'} answering. Total ${formatDuration(result.durationMs)}.`
    : `✘ ${result.reason}`;
  return `\n${table}\n${verdict}\n`;
}
