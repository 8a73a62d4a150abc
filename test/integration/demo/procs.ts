// Process bookkeeping for the demo tests: every descendant of a pid seen while it runs (from
// /proc), identified by pid and start time so a recycled pid is never mistaken for a survivor.

import { readdirSync, readFileSync } from 'node:fs';

export interface Proc { pid: number; start: string; comm: string }

function statOf(pid: number): { ppid: number; start: string; comm: string; state: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields resume after the last ')'.
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]), start: fields[19] ?? '', comm };
  } catch {
    return undefined;
  }
}

/** Descendants of `root` right now (children, grandchildren, ...), zombies excluded. */
export function descendants(root: number): Proc[] {
  const all = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  const children = new Map<number, number[]>();
  const stats = new Map<number, NonNullable<ReturnType<typeof statOf>>>();
  for (const pid of all) {
    const s = statOf(pid);
    if (!s) continue;
    stats.set(pid, s);
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  }
  const out: Proc[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    const s = stats.get(pid);
    if (s && s.state !== 'Z') out.push({ pid, start: s.start, comm: s.comm });
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Whether the very process `p` (same pid and start time) still exists and is not a zombie. */
export function alive(p: Proc): boolean {
  const s = statOf(p.pid);
  return s !== undefined && s.start === p.start && s.state !== 'Z';
}

/** Samples descendants of `root` every 100 ms until stop(); returns everything seen. */
export function watchDescendants(root: number): { stop(): Proc[] } {
  const seen = new Map<string, Proc>();
  const sample = (): void => { for (const p of descendants(root)) seen.set(`${p.pid}:${p.start}`, p); };
  sample();
  const timer = setInterval(sample, 100);
  return { stop: () => { clearInterval(timer); return [...seen.values()]; } };
}
