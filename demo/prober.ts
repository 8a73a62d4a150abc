// Measures application downtime the way a user sees it: an HTTP GET every `intervalMs`; each
// run of failed probes between two successes is an outage with its start, end and duration.

import { request } from 'node:http';

export interface Outage {
  start: number;
  end: number;
  ms: number;
}

export interface ProbeSample {
  at: number;
  ok: boolean;
  version?: string;
}

export interface Prober {
  start(): void;
  stop(): Promise<void>;
  /** Outages that have ended, oldest first. */
  outages(): Outage[];
  /** Version last seen answering. */
  lastVersion(): string | undefined;
  /** Outages overlapping [from, to]. */
  outagesBetween(from: number, to: number): Outage[];
  /** When the answers changed to `version` at or after `from`; undefined if they did not (yet). */
  versionSeenAfter(version: string, from: number): number | undefined;
}

function probeOnce(url: string, timeoutMs: number): Promise<{ ok: boolean; version?: string }> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => {
        const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
        let version: string | undefined;
        try {
          const parsed = JSON.parse(body) as { version?: unknown };
          if (typeof parsed.version === 'string') version = parsed.version;
        } catch {
          // not JSON: still counts by status code
        }
        resolve(version === undefined ? { ok } : { ok, version });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ ok: false }));
    req.end();
  });
}

/** A prober of `url` every `intervalMs` (20 ms for swap measurements). */
export function createProber(url: string, intervalMs = 20, now: () => number = () => performance.now()): Prober {
  const ended: Outage[] = [];
  let downSince: number | undefined;
  let version: string | undefined;
  // Each change of the answering version, in order.
  const changes: ProbeSample[] = [];
  let running: Promise<void> | undefined;
  let stopped = false;

  const loop = async (): Promise<void> => {
    while (!stopped) {
      const at = now();
      const result = await probeOnce(url, Math.max(200, intervalMs * 5));
      if (result.ok) {
        if (downSince !== undefined) ended.push({ start: downSince, end: at, ms: at - downSince });
        downSince = undefined;
        if (result.version !== undefined && result.version !== version) changes.push({ at, ok: true, version: result.version });
        if (result.version !== undefined) version = result.version;
      } else if (downSince === undefined) {
        downSince = at;
      }
      const wait = intervalMs - (now() - at);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };

  return {
    start: () => {
      stopped = false;
      running ??= loop();
    },
    stop: async () => {
      stopped = true;
      await running;
      running = undefined;
    },
    outages: () => [...ended],
    lastVersion: () => version,
    outagesBetween: (from, to) => ended.filter((o) => o.end >= from && o.start <= to),
    versionSeenAfter: (v, from) => changes.find((c) => c.version === v && c.at >= from)?.at,
  };
}
