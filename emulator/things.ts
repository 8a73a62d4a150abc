// Things of the emulator: a client certificate (CN = thing name, the identity Mosquitto's ACL
// uses) and the device config snippet that points twinslot's agent at the emulator.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { issueClientCert, type Pki } from './broker/pki.ts';

export interface ThingCredentials {
  thingName: string;
  certPath: string;
  keyPath: string;
  caPath: string;
  endpoint: string;
  port: number;
  /** The part of /etc/twinslot/config.json that connects the agent to this emulator. */
  config: Record<string, unknown>;
}

/** The agent config for a thing of the emulator at 127.0.0.1:`port`. */
export function agentConfigSnippet(thingName: string, port: number, certPath: string, keyPath: string, caPath: string): Record<string, unknown> {
  return {
    device: { thingName },
    agent: { connection: { endpoints: [`127.0.0.1:${port}`], certPath, keyPath, caPath } },
  };
}

/** Makes (or finds) the certificate and key of `thingName` under `<dir>/things`. */
export async function createThing(dir: string, pki: Pki, thingName: string, port: number): Promise<ThingCredentials> {
  const thingsDir = join(dir, 'things');
  const certPath = join(thingsDir, `${thingName}.crt`);
  const keyPath = join(thingsDir, `${thingName}.key`);
  if (!existsSync(certPath) || !existsSync(keyPath)) await issueClientCert(pki, thingName, thingsDir);
  return {
    thingName, certPath, keyPath, caPath: pki.caCert, endpoint: '127.0.0.1', port,
    config: agentConfigSnippet(thingName, port, certPath, keyPath, pki.caCert),
  };
}
