// Where an update is, seen from inside the VM and delivered to the host at once: a guest
// watcher (Node's fs.watch, inotify, on the agent's journal and the supervisor's state
// directory) prints "TSPHASE <job> <agent phase> <supervisor phase> <committed slot>" on the
// serial console whenever one changes, and the host tails the console log. Used to cut the power
// inside a chosen phase. (Debian's static busybox has no inotifyd; a polling shell loop would
// eat the single TCG vCPU.)

import { open, stat } from 'node:fs/promises';
import { EventLog } from './events.ts';

export interface PhaseSample {
  job: string;
  /** The agent's journal phase of the job (received, downloading, ..., closed), or '-'. */
  agent: string;
  /** The supervisor's trial phase (running, reboot-pending, rolling-back) or 'idle'. */
  supervisor: string;
  committed: string;
  at: number;
}

// Runs in the guest with the rig's node; fs.watch is inotify, so it costs nothing while idle.
const WATCHER = `
const fs = require('node:fs');
// Last in line for the CPU: the supervisor and the agent start at the same moment after a boot.
require('node:os').setPriority(19);
const jobs = '/var/lib/twinslot/agent/jobs', state = '/var/lib/twinslot/state.json';
const out = fs.openSync('/dev/console', 'w');
let job = '-', agent = '-', last = '';
const read = (f) => { try { return JSON.parse(fs.readFileSync(f, 'utf8')); } catch { return null; } };
function emit() {
  const s = read(state);
  const line = 'TSPHASE ' + job + ' ' + agent + ' ' + (s ? (s.trial ? s.trial.phase : 'idle') : '?') + ' ' + (s ? s.committed : '?');
  if (line !== last) { last = line; fs.writeSync(out, line + '\\n'); }
}
if (!fs.existsSync(jobs)) {
  // The agent's own directory, as the agent would make it (it may not have started yet).
  const st = fs.statSync('/var/lib/twinslot/agent');
  fs.mkdirSync(jobs, { mode: 0o700 });
  fs.chownSync(jobs, st.uid, st.gid);
}
fs.watch(jobs, (ev, name) => {
  const m = name && /^(.+)\\.\\d+\\.json$/.exec(name);
  if (!m) return;
  const e = read(jobs + '/' + name);
  if (e && e.phase) { job = m[1]; agent = e.phase.kind; emit(); }
});
fs.watch('/var/lib/twinslot', (ev, name) => { if (name === 'state.json') emit(); });
emit();
`;

/** Data disk file and boot script lines that run the watcher at every boot (DeviceExtras). */
export const WATCHER_EXTRAS = {
  data: { 'rig/phase-watch.cjs': WATCHER },
  bootScript: 'setsid node /data/rig/phase-watch.cjs </dev/null >/dev/null 2>>/data/phase-watch.err &\n',
};

/** Follows the VM's serial console log from its current end and collects TSPHASE lines. */
export class PhaseTail {
  readonly samples = new EventLog<PhaseSample>();
  #offset = 0;
  #rest = '';
  #timer: NodeJS.Timeout | null = null;
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  async start(): Promise<void> {
    this.#offset = (await stat(this.#path)).size;
    this.#timer = setInterval(() => void this.#poll().catch(() => undefined), 40);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  get last(): PhaseSample | undefined {
    return this.samples.items.at(-1);
  }

  async #poll(): Promise<void> {
    const size = (await stat(this.#path)).size;
    if (size <= this.#offset) return;
    const fh = await open(this.#path, 'r');
    try {
      const buf = Buffer.alloc(size - this.#offset);
      await fh.read(buf, 0, buf.length, this.#offset);
      this.#offset = size;
      const text = this.#rest + buf.toString('latin1');
      const lines = text.split('\n');
      this.#rest = lines.pop() ?? '';
      for (const line of lines) {
        const m = /TSPHASE (\S+) (\S+) (\S+) (\S+)/.exec(line);
        if (m) this.samples.push({ job: m[1] ?? '-', agent: m[2] ?? '-', supervisor: m[3] ?? '-', committed: m[4] ?? '-', at: Date.now() });
      }
    } finally {
      await fh.close();
    }
  }
}
