// Builds /etc/twinslot/config.json from install.sh's flags, merged into the config already on the
// device so that sections an operator edited (health, app, timings) survive a re-install.

import { CodedError } from '../../common/errors.ts';

export interface InstallFlags {
  thingName?: string;
  deviceType?: string;
  endpoints: string[];
  /** Paths as seen on the device (not under a test root). */
  certPath: string;
  keyPath: string;
  caPath?: string;
  claim?: { certPath: string; keyPath: string; templateName: string; parameters: Record<string, string> };
  watchdog?: string;
}

type Obj = Record<string, unknown>;

/** The system user install.sh creates for the agent. */
export const AGENT_USER = 'twinslot';

/** The system user install.sh creates for the application. */
export const APP_USER = 'twinslot-app';

function obj(v: unknown, at: string): Obj {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CodedError('CONFIG_INVALID', `${at} in the existing config is not an object`);
  return { ...(v as Obj) };
}

/** Splits "KEY=VALUE" template parameters; throws INSTALL_FLAG_INVALID on a malformed one. */
export function parseParams(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CodedError('INSTALL_FLAG_INVALID', `--template-param "${item}" must be KEY=VALUE`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** The merged config object: `existing` (may be undefined) with the flags' values set. */
export function mergeDeviceConfig(existing: unknown, flags: InstallFlags): Obj {
  const root = obj(existing, '(root)');
  const device = obj(root['device'], 'device');
  if (flags.thingName !== undefined) device['thingName'] = flags.thingName;
  if (flags.deviceType !== undefined) device['deviceType'] = flags.deviceType;
  if (typeof device['thingName'] !== 'string' || device['thingName'] === '') {
    throw new CodedError('INSTALL_FLAG_MISSING', '--thing-name is required on a first install');
  }
  if (/[/#+]/.test(device['thingName'])) throw new CodedError('INSTALL_FLAG_INVALID', '--thing-name must not contain / # +');
  root['device'] = device;
  const agent = obj(root['agent'], 'agent');
  const connection = obj(agent['connection'], 'agent.connection');
  if (flags.endpoints.length > 0) connection['endpoints'] = flags.endpoints;
  if (!Array.isArray(connection['endpoints'])) throw new CodedError('INSTALL_FLAG_MISSING', '--endpoint is required on a first install');
  connection['certPath'] = flags.certPath;
  connection['keyPath'] = flags.keyPath;
  if (flags.caPath !== undefined) connection['caPath'] = flags.caPath;
  agent['connection'] = connection;
  root['agent'] = agent;
  if (flags.claim) {
    root['provisioning'] = {
      mode: 'claim',
      claimCertPath: flags.claim.certPath,
      claimKeyPath: flags.claim.keyPath,
      templateName: flags.claim.templateName,
      parameters: flags.claim.parameters,
    };
  }
  const supervisor = obj(root['supervisor'], 'supervisor');
  if (flags.watchdog !== undefined) supervisor['watchdog'] = { ...obj(supervisor['watchdog'], 'supervisor.watchdog'), device: flags.watchdog };
  // The agent runs as AGENT_USER: it must reach the supervisor's socket and own the slots it fills.
  supervisor['socketGroup'] ??= AGENT_USER;
  supervisor['agentUser'] ??= AGENT_USER;
  root['supervisor'] = supervisor;
  // Apps whose manifest names no user run as APP_USER, never as root.
  const app = obj(root['app'], 'app');
  app['user'] ??= APP_USER;
  root['app'] = app;
  return root;
}
