// install.sh's helper: writes the merged device config to --out (stdout-free, exit 1 with a coded
// message on bad flags). Run with the release's own node:
//   node write-config.ts --existing FILE --out FILE --thing-name T --endpoint H[:P] ...

import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CodedError, isErrno, messageOf } from '../../common/errors.ts';
import { mergeDeviceConfig, parseParams, type InstallFlags } from './device-config.ts';

function readExisting(file: string | undefined): unknown {
  if (file === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw new CodedError('CONFIG_INVALID', `existing config ${file} is unreadable: ${messageOf(err)}`);
  }
}

function flagsFrom(argv: string[]): { existing: string | undefined; out: string; flags: InstallFlags } {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      existing: { type: 'string' }, out: { type: 'string' },
      'thing-name': { type: 'string' }, 'device-type': { type: 'string' },
      endpoint: { type: 'string', multiple: true, default: [] },
      'cert-path': { type: 'string' }, 'key-path': { type: 'string' }, 'ca-path': { type: 'string' },
      'claim-cert-path': { type: 'string' }, 'claim-key-path': { type: 'string' },
      template: { type: 'string' }, 'template-param': { type: 'string', multiple: true, default: [] },
      watchdog: { type: 'string' },
    },
  });
  if (!v.out || !v['cert-path'] || !v['key-path']) throw new CodedError('INSTALL_FLAG_MISSING', 'write-config needs --out, --cert-path and --key-path');
  const flags: InstallFlags = { endpoints: v.endpoint.flatMap((e) => e.split(',')).filter((e) => e !== ''), certPath: v['cert-path'], keyPath: v['key-path'] };
  if (v['thing-name'] !== undefined) flags.thingName = v['thing-name'];
  if (v['device-type'] !== undefined) flags.deviceType = v['device-type'];
  if (v['ca-path'] !== undefined) flags.caPath = v['ca-path'];
  if (v.watchdog !== undefined) flags.watchdog = v.watchdog;
  if (v.template !== undefined) {
    if (!v['claim-cert-path'] || !v['claim-key-path']) throw new CodedError('INSTALL_FLAG_MISSING', '--template needs --claim-cert and --claim-key');
    const parameters = { ThingName: flags.thingName ?? '', ...parseParams(v['template-param']) };
    flags.claim = { certPath: v['claim-cert-path'], keyPath: v['claim-key-path'], templateName: v.template, parameters };
  }
  return { existing: v.existing, out: v.out, flags };
}

if (import.meta.main) {
  try {
    const { existing, out, flags } = flagsFrom(process.argv.slice(2));
    const config = mergeDeviceConfig(readExisting(existing), flags);
    writeFileSync(out, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o640 });
  } catch (err) {
    const code = err instanceof CodedError ? `${err.code}: ` : '';
    process.stderr.write(`twinslot install: ${code}${messageOf(err)}\n`);
    process.exitCode = 1;
  }
}
