// Runs Mosquitto 2 as AWS IoT Core's stand-in: TLS on 127.0.0.1 with client certificates, the
// certificate CN as identity, per-thing ACLs in the style of an AWS IoT policy, persistence on.
//
// INVARIANTS
// - The broker listens on 127.0.0.1 only.
// - restart() reuses the same port, config and persistence file, so clients can rejoin sessions.
// - Sessions and retained messages are saved on every change, so a kill -9 loses nothing a
//   client saw acknowledged (AWS keeps persistent sessions across its own failures too).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CodedError } from '../../common/errors.ts';
import { freePort, waitForPort } from './free-port.ts';
import type { Pki } from './pki.ts';

export interface MosquittoOptions {
  /** Directory for config, ACL, persistence and log. */
  dir: string;
  pki: Pki;
  /** Port on 127.0.0.1; a free one when omitted or 0. */
  port?: number;
  /** Certificate CNs with access to every topic (the emulator's responder). */
  privileged?: string[];
  /** Extra ACL lines, appended after the per-thing patterns. */
  aclExtra?: string[];
  /** Refuse certificates on the PKI's CRL. */
  useCrl?: boolean;
  /** Save persistence on every change (default true); a fleet benchmark may turn it off. */
  saveOnEveryChange?: boolean;
}

export interface MosquittoHandle {
  host: '127.0.0.1';
  port: number;
  caPath: string;
  logPath: string;
  readonly pid: number | undefined;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit (a crash). */
  kill9(): Promise<void>;
  /** Start again after stop() or kill9(), on the same port and persistence. */
  restart(): Promise<void>;
  /** SIGHUP: Mosquitto re-reads its config, ACL file and CRL. */
  reload(): void;
  /** Rewrites the ACL with these extra lines (then call reload()). */
  writeAcl(extraLines: string[]): Promise<void>;
}

/** The per-thing ACL: each certificate reaches only its own thing's topics. */
export function aclText(privileged: string[], extra: string[]): string {
  const lines = [
    '# each thing reaches its own topics only (identity = certificate CN)',
    'pattern readwrite $aws/things/%u/#',
    'pattern readwrite twinslot/%u/#',
    ...extra,
  ];
  for (const user of privileged) {
    lines.push('', `user ${user}`, 'topic readwrite #', 'topic readwrite $aws/#');
  }
  return `${lines.join('\n')}\n`;
}

function configText(opts: MosquittoOptions, port: number): string {
  const lines = [
    'per_listener_settings false',
    `listener ${port} 127.0.0.1`,
    `cafile ${opts.pki.caCert}`,
    `certfile ${opts.pki.serverCert}`,
    `keyfile ${opts.pki.serverKey}`,
    'require_certificate true',
    'use_identity_as_username true',
    `acl_file ${join(opts.dir, 'acl')}`,
    'allow_zero_length_clientid false',
    'max_inflight_messages 100',
    'max_queued_messages 10000',
    'persistence true',
    `persistence_location ${join(opts.dir, 'data')}/`,
    `log_dest file ${join(opts.dir, 'mosquitto.log')}`,
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'connection_messages true',
    'log_timestamp_format %Y-%m-%dT%H:%M:%S',
  ];
  if (opts.saveOnEveryChange ?? true) lines.push('autosave_on_changes true', 'autosave_interval 1');
  if (opts.useCrl) lines.push(`crlfile ${opts.pki.crl}`);
  if (process.getuid?.() === 0) lines.push('user root');
  return `${lines.join('\n')}\n`;
}

/** Starts Mosquitto and resolves once it accepts TCP connections. */
export async function startMosquitto(opts: MosquittoOptions): Promise<MosquittoHandle> {
  await mkdir(join(opts.dir, 'data'), { recursive: true });
  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
  const configPath = join(opts.dir, 'mosquitto.conf');
  const logPath = join(opts.dir, 'mosquitto.log');
  await writeFile(configPath, configText(opts, port));
  const privileged = opts.privileged ?? [];
  await writeFile(join(opts.dir, 'acl'), aclText(privileged, opts.aclExtra ?? []));

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    const proc = spawn('mosquitto', ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    let alive = true;
    exited = new Promise((resolve) => proc.once('exit', () => { alive = false; resolve(); }));
    proc.once('error', () => { alive = false; });
    child = proc;
    try {
      await waitForPort(port, { alive: () => alive });
    } catch (err) {
      proc.kill('SIGKILL');
      throw new CodedError('BROKER_START_FAILED', `mosquitto did not start on port ${port}: ${stderr.trim() || 'see ' + logPath}`, {}, { cause: err });
    }
  };

  const signalAndWait = async (signal: NodeJS.Signals): Promise<void> => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };

  const onExit = (): void => { child?.kill('SIGKILL'); };
  process.once('exit', onExit);
  await launch();

  return {
    host: '127.0.0.1',
    port,
    caPath: opts.pki.caCert,
    logPath,
    get pid() { return child?.pid; },
    stop: async () => {
      await signalAndWait('SIGTERM');
      process.removeListener('exit', onExit);
    },
    kill9: () => signalAndWait('SIGKILL'),
    restart: async () => {
      await signalAndWait('SIGTERM');
      process.once('exit', onExit);
      await launch();
    },
    reload: () => { child?.kill('SIGHUP'); },
    writeAcl: (extraLines) => writeFile(join(opts.dir, 'acl'), aclText(privileged, [...(opts.aclExtra ?? []), ...extraLines])),
  };
}
