// One QEMU VM of the rig: boots, waits for the guest, runs commands in it, and resets, stops or
// kills it (a power cut) and boots it again from the same disks.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { CodedError } from '../../../common/errors.ts';
import { ControlChannel, type Boot, type ExecResult } from './control.ts';
import { qemuArgs, type QemuSetup } from './qemu-args.ts';
import { QmpClient } from './qmp.ts';

/** Deadline for a boot: generous, TCG on a busy 2-core machine can be slow. */
export const BOOT_TIMEOUT_MS = 180_000;
const COMMAND_TIMEOUT_MS = 120_000;

export class Vm {
  readonly qmp = new QmpClient();
  readonly control = new ControlChannel();
  readonly setup: QemuSetup;
  readonly qemuLog: string;
  #proc: ChildProcess | null = null;
  #exited: Promise<number | null> = Promise.resolve(null);
  #listening = false;

  constructor(setup: QemuSetup, qemuLog: string) {
    this.setup = setup;
    this.qemuLog = qemuLog;
  }

  get boots(): Boot[] {
    return this.control.boots.items;
  }

  get running(): boolean {
    return this.#proc !== null;
  }

  /** Starts QEMU (the sockets listen first) and waits for the guest's control agent. */
  async start(): Promise<Boot> {
    if (this.#proc) throw new CodedError('RIG_VM_RUNNING', 'the VM is already running');
    if (!this.#listening) {
      await this.qmp.listen(this.setup.qmpSocket);
      await this.control.listen(this.setup.controlSocket);
      this.#listening = true;
    }
    const from = this.boots.length;
    const log = createWriteStream(this.qemuLog, { flags: 'a' });
    const proc = spawn('qemu-system-x86_64', qemuArgs(this.setup), { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout.pipe(log, { end: false });
    proc.stderr.pipe(log, { end: false });
    this.#proc = proc;
    this.#exited = new Promise((resolve) => {
      proc.once('exit', (code) => {
        if (this.#proc === proc) this.#proc = null;
        log.end();
        resolve(code);
      });
    });
    const exitedEarly = this.#exited.then((code) => {
      throw new CodedError('RIG_QEMU_EXITED', `QEMU exited (${code}) before the guest booted; see ${this.qemuLog} and ${this.setup.consoleLog}`);
    });
    return Promise.race([this.waitBoot(from), exitedEarly]);
  }

  /** The first boot announced at index ≥ `from` of `boots` (count them before causing one). */
  waitBoot(from: number, timeoutMs = BOOT_TIMEOUT_MS): Promise<Boot> {
    return this.control.boots.waitFor(() => true, `guest boot #${from + 1}`, timeoutMs, from);
  }

  /** Runs a shell script in the guest. */
  async exec(script: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<ExecResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CodedError('RIG_TIMEOUT', `guest command did not finish in ${timeoutMs / 1000} s: ${script.slice(0, 200)}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.control.exec(script), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a shell script in the guest and returns its stdout; a non-zero exit throws. */
  async sh(script: string, timeoutMs?: number): Promise<string> {
    const r = await this.exec(script, timeoutMs);
    if (r.code !== 0) throw new CodedError('RIG_GUEST_COMMAND_FAILED', `guest command exited ${r.code}: ${script.slice(0, 200)}\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /**
   * Starts `command` in the background in its own session (stdout to `outFile`, stderr to
   * `outFile.err`) and returns its first line of output once it printed one; its pid is in
   * `outFile.pid`. A process that dies before printing fails with its stderr.
   */
  async startBackground(command: string, outFile: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
    const out = quote(outFile);
    return this.sh(`setsid sh -c ${quote(`exec ${command}`)} >${out} 2>${out}.err </dev/null &
pid=$!; echo $pid >${out}.pid
until [ -s ${out} ]; do
  kill -0 $pid 2>/dev/null || { sleep 0.2; [ -s ${out} ] && break; echo "exited before printing:" >&2; cat ${out}.err >&2; exit 1; }
  sleep 0.1
done
head -n 1 ${out}`, timeoutMs);
  }

  /** A guest file's bytes (through base64, so any content survives the line protocol). */
  async readFile(path: string): Promise<Buffer> {
    return Buffer.from(await this.sh(`base64 -w0 < ${quote(path)}`), 'base64');
  }

  /** Writes a guest file and syncs it to disk. */
  async writeFile(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
    const b64 = Buffer.from(data).toString('base64');
    await this.sh(`mkdir -p "$(dirname ${quote(path)})" && echo ${b64} | base64 -d > ${quote(path)} && chmod ${mode.toString(8)} ${quote(path)} && sync`);
  }

  /** Hard reset through QMP (like the reset button: no shutdown, caches lost). */
  async reset(): Promise<void> {
    await this.qmp.execute('system_reset');
  }

  /** Asks QEMU to exit and waits for it. */
  async quit(): Promise<void> {
    if (!this.#proc) return;
    await this.qmp.execute('quit').catch(() => undefined);
    await this.#exited;
  }

  /** SIGKILLs QEMU: a power cut. The disks keep whatever the guest had written to them. */
  async kill(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    proc.kill('SIGKILL');
    await this.#exited;
  }

  /** Stops QEMU (if running) and closes the rig's sockets. */
  async dispose(): Promise<void> {
    await this.kill();
    await this.qmp.close();
    await this.control.close();
  }
}

/** Single-quotes a path for the guest's shell. */
export function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
