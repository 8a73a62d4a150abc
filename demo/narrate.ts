// What the supervisor says, in the timeline's words: trial events from its IPC event stream,
// and from its log the two moments the stream does not carry (probation started, the failed
// health verdict).

import type { SupervisorEvent } from '../ipc/protocol.ts';
import type { LogLine } from './children.ts';
import type { Timeline } from './timeline.ts';

/** One timeline line per supervisor event. */
export function showSupervisorEvent(timeline: Timeline, e: SupervisorEvent): void {
  switch (e.type) {
    case 'trial-started':
      timeline.emit({ kind: 'trial', jobId: e.jobId, text: `supervisor: trial of v${e.version} in slot ${e.slot} started (${e.attemptsLeft} more attempt${e.attemptsLeft === 1 ? '' : 's'} if it crashes)` });
      return;
    case 'committed':
      timeline.emit({ kind: 'trial', jobId: e.jobId, text: `supervisor: v${e.version} passed probation → committed slot ${e.slot}` });
      return;
    case 'rolled-back':
      timeline.emit({ kind: 'trial', jobId: e.jobId, text: `supervisor: rolled back to slot ${e.committed ?? '?'} (${e.code}), v${e.version} in slot ${e.slot} marked failed` });
      return;
    case 'power-fail':
      timeline.emit({ kind: 'step', text: 'supervisor: power-fail notice' });
      return;
    case 'power-restored':
      timeline.emit({ kind: 'step', text: 'supervisor: power restored' });
      return;
    case 'reboot':
      timeline.emit({ kind: 'step', text: 'supervisor: app stopped, rebooting' });
      return;
    case 'crash-loop':
      timeline.emit({ kind: 'step', text: `supervisor: crash loop of v${e.version ?? '?'} (${e.restarts} restarts)` });
      return;
  }
}

/** Timeline lines for the supervisor log events the demo narrates. */
export function showSupervisorLog(timeline: Timeline, jobId: string, l: LogLine): void {
  if (l['event'] === 'probation-started') {
    const seconds = Number(l['probationMs'] ?? 0) / 1000;
    timeline.emit({ kind: 'trial', jobId, text: `supervisor: slot ${String(l['slot'])} healthy; probation ${seconds} s` });
  } else if (l['event'] === 'app-unhealthy' && l['trial'] === true) {
    timeline.emit({ kind: 'trial', jobId, text: `supervisor: health check failed during the trial (${String(l['code'])}: ${String(l['reason'])})` });
  }
}
