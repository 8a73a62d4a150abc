// `twinslot emulator start|stop|status|thing create|upload`: the local AWS IoT Jobs.

import { parseArgs } from 'node:util';
import { once } from 'node:events';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, CliIo } from '../command.ts';
import { CodedError } from '../../common/errors.ts';
import { createLogger } from '../../common/log.ts';
import { startEmulator, type EmulatorInfo } from '../../emulator/emulator.ts';
import { alive, readInfo, startDetached, stopDetached } from '../../emulator/cli/daemon.ts';
import { createPki } from '../../emulator/broker/pki.ts';
import { createThing } from '../../emulator/things.ts';
import { createClaim, DEFAULT_TEMPLATES } from '../../emulator/provisioning/service.ts';
import { uploadObject } from '../../emulator/files/store.ts';
import { callControl } from '../../emulator/control-api.ts';

const HELP = `Usage: twinslot emulator <command> [options]

  start [--dir DIR] [--port N] [--foreground]   Mosquitto (TLS, per-thing ACLs), the Jobs responder,
                                                the control API and the HTTPS file server, on 127.0.0.1
  stop [--dir DIR]                              stop the emulator of DIR
  status [--dir DIR]                            endpoint, port, CA path; exit 3 when not running
  thing create NAME [--dir DIR]                 certificate and key of a thing, and its agent config
  claim create [--dir DIR]                      the fleet claim certificate and its provisioning config
  upload FILE --as s3://bucket/key [--dir DIR]  the file presigned URLs for that S3 object serve

Options: --json (machine-readable output), --help.
DIR defaults to $TWINSLOT_EMULATOR_DIR or ~/.twinslot/emulator. Jobs persist in DIR across stop/start.
`;

const OPTIONS = {
  dir: { type: 'string' }, port: { type: 'string' }, foreground: { type: 'boolean' }, json: { type: 'boolean' },
  as: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

function dirOf(value: string | undefined, io: CliIo): string {
  return resolve(io.cwd, value ?? io.env['TWINSLOT_EMULATOR_DIR'] ?? join(io.env['HOME'] ?? homedir(), '.twinslot', 'emulator'));
}

function printInfo(io: CliIo, info: EmulatorInfo, json: boolean | undefined): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(info)}\n`);
    return;
  }
  io.stdout.write(`endpoint ${info.endpoint}\nport     ${info.port}\nca       ${info.caPath}\ncontrol  http://127.0.0.1:${info.controlPort}\nfiles    ${info.filesUrl}\ndir      ${info.dir}\npid      ${info.pid}\n`);
}

async function start(dir: string, port: number | undefined, foreground: boolean, json: boolean | undefined, io: CliIo): Promise<number> {
  const running = await readInfo(dir);
  if (running && alive(running.pid)) throw new CodedError('EMULATOR_RUNNING', `an emulator already runs for ${dir} (pid ${running.pid})`);
  if (!foreground) {
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    printInfo(io, await startDetached(main, dir, port ? ['--port', String(port)] : []), json);
    return 0;
  }
  const emulator = await startEmulator({ dir, ...(port ? { port } : {}), log: createLogger('emulator') });
  printInfo(io, emulator.info, json);
  await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
  await emulator.stop();
  return 0;
}

async function status(dir: string, json: boolean | undefined, io: CliIo): Promise<number> {
  const info = await readInfo(dir);
  const up = info !== undefined && alive(info.pid) && (await callControl(info.controlPort, 'ping').then(() => true, () => false));
  if (!info || !up) {
    io.stdout.write(json ? `${JSON.stringify({ running: false, dir })}\n` : `not running (${dir})\n`);
    return 3;
  }
  if (json) io.stdout.write(`${JSON.stringify({ running: true, ...info })}\n`);
  else printInfo(io, info, false);
  return 0;
}

async function thingCreate(dir: string, name: string | undefined, port: number | undefined, io: CliIo): Promise<number> {
  if (!name) throw new CodedError('USAGE', 'thing create needs a NAME');
  const info = await readInfo(dir);
  const pki = await createPki(join(dir, 'pki'));
  const thing = await createThing(dir, pki, name, info?.port ?? port ?? 8883);
  io.stdout.write(`${JSON.stringify(thing, null, 2)}\n`);
  return 0;
}

/** The `emulator` command. */
const command: Command = {
  summary: 'local AWS IoT Jobs on Mosquitto: start, stop, status, thing create, claim create, upload',
  async run(argv, io) {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    const [sub, ...rest] = positionals;
    if (values.help || !sub) {
      io.stdout.write(HELP);
      return values.help ? 0 : 2;
    }
    const dir = dirOf(values.dir, io);
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new CodedError('USAGE', '--port must be a port number');
    switch (sub) {
      case 'start': return start(dir, port, values.foreground ?? false, values.json, io);
      case 'stop': {
        const stopped = await stopDetached(dir);
        io.stdout.write(values.json ? `${JSON.stringify({ stopped })}\n` : stopped ? 'stopped\n' : 'not running\n');
        return 0;
      }
      case 'status': return status(dir, values.json, io);
      case 'thing':
        if (rest[0] !== 'create') throw new CodedError('USAGE', 'usage: twinslot emulator thing create NAME');
        return thingCreate(dir, rest[1], port, io);
      case 'claim': {
        if (rest[0] !== 'create') throw new CodedError('USAGE', 'usage: twinslot emulator claim create');
        const claim = await createClaim(dir, await createPki(join(dir, 'pki')), Object.keys(DEFAULT_TEMPLATES));
        io.stdout.write(`${JSON.stringify(claim, null, 2)}\n`);
        return 0;
      }
      case 'upload': {
        if (!rest[0] || !values.as) throw new CodedError('USAGE', 'usage: twinslot emulator upload FILE --as s3://bucket/key');
        const done = await uploadObject(dir, resolve(io.cwd, rest[0]), values.as);
        io.stdout.write(`${JSON.stringify({ bucket: done.object.bucket, key: done.object.key, eTag: done.etag, size: done.size })}\n`);
        return 0;
      }
      default:
        io.stderr.write(HELP);
        return 2;
    }
  },
};
export default command;
