// What the coordinator learns from the workers' events, per device, and the figures derived
// from it: connect storm, rollout rate per minute, reconnects after the broker restart.

import type { FromWorker } from './protocol.ts';

export interface ThingRecord {
  connectedAt?: number;
  attempts: number;
  connectFailures: number;
  reconnects: number[];
  starts: Map<string, number[]>;
  done: Map<string, number>;
  duplicates: number;
  errors: string[];
}

const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

/** Per-device records fed by worker messages. */
export class Tally {
  readonly things = new Map<string, ThingRecord>();

  constructor(names: string[]) {
    for (const name of names) this.things.set(name, { attempts: 0, connectFailures: 0, reconnects: [], starts: new Map(), done: new Map(), duplicates: 0, errors: [] });
  }

  on(msg: FromWorker): void {
    if (msg.type === 'ready' || msg.type === 'stats') return;
    const r = this.things.get(msg.thing);
    if (!r) return;
    switch (msg.type) {
      case 'connected': r.connectedAt = msg.at; r.attempts = msg.attempts; return;
      case 'connect-failed': r.connectFailures++; return;
      case 'reconnected': r.reconnects.push(msg.at); return;
      case 'job-started': r.starts.set(msg.jobId, [...(r.starts.get(msg.jobId) ?? []), msg.at]); return;
      case 'job-done': r.done.set(msg.jobId, msg.at); return;
      case 'job-duplicate': r.duplicates++; return;
      case 'job-error': r.errors.push(`${msg.jobId}: ${msg.error}`); return;
      default: {
        const never: never = msg;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  }

  count(pred: (r: ThingRecord) => boolean): number {
    let n = 0;
    for (const r of this.things.values()) if (pred(r)) n++;
    return n;
  }

  /** The connect storm that began at `t0`. */
  storm(t0: number): { connected: number; allConnectedMs: number; connectsPerSecond: number; p50Ms: number; p95Ms: number; failedAttempts: number; devicesThatRetried: number } {
    const times = [...this.things.values()].flatMap((r) => (r.connectedAt === undefined ? [] : [r.connectedAt - t0]));
    const allMs = Math.max(0, ...times);
    return {
      connected: times.length, allConnectedMs: allMs, connectsPerSecond: times.length / Math.max(allMs / 1000, 0.001),
      p50Ms: percentile(times, 50), p95Ms: percentile(times, 95),
      failedAttempts: [...this.things.values()].reduce((n, r) => n + r.connectFailures, 0),
      devicesThatRetried: this.count((r) => r.attempts > 1),
    };
  }

  /** Devices back after the broker came back at `since`, and how long the last one took. */
  reconnect(since: number, restartedAt: number): { devices: number; allBackMs: number; p50Ms: number } {
    const back = [...this.things.values()].flatMap((r) => { const t = r.reconnects.find((x) => x >= since); return t === undefined ? [] : [t - restartedAt]; });
    return { devices: back.length, allBackMs: Math.max(0, ...back), p50Ms: percentile(back, 50) };
  }

  /** Executions started per minute since the job's creation at `createdAt` (minute 0 first). */
  startsPerMinute(jobId: string, createdAt: number): number[] {
    const buckets: number[] = [];
    for (const r of this.things.values()) {
      const first = r.starts.get(jobId)?.[0];
      if (first === undefined) continue;
      const minute = Math.floor((first - createdAt) / 60_000);
      while (buckets.length <= minute) buckets.push(0);
      buckets[minute] = (buckets[minute] ?? 0) + 1;
    }
    return buckets;
  }
}
