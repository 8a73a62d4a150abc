// Fleet provisioning inside the emulator: one claim certificate (CN `twinslot-claim`) allowed on
// the provisioning topics, the responder, and RegisterThing grants kept in
// `<dir>/provisioning/grants.json` so that provisioned devices keep their topics across restarts.

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/durable-file.ts';
import type { Logger } from '../../common/log.ts';
import { issueClientCert, type Pki } from '../broker/pki.ts';
import type { MosquittoHandle } from '../broker/mosquitto.ts';
import { FleetProvisioning, type Template } from './fleet.ts';
import { claimAclLines, PROVISIONING_CN, startProvisioningResponder } from './responder.ts';

export const CLAIM_CN = 'twinslot-claim';
export const DEFAULT_TEMPLATES: Record<string, Template> = { 'twinslot-fleet': { thingNameParameter: 'ThingName' } };

export interface Grant { cn: string; thingName: string }

export interface ClaimCredentials {
  certPath: string;
  keyPath: string;
  caPath: string;
  templateNames: string[];
  /** The `provisioning` section of /etc/twinslot/config.json (template parameters to fill in). */
  config: Record<string, unknown>;
}

export interface FleetService {
  createClaim(): Promise<ClaimCredentials>;
  stop(): Promise<void>;
}

export interface FleetServiceOptions {
  dir: string;
  pki: Pki;
  broker: MosquittoHandle;
  templates: Record<string, Template>;
  exclusive<T>(issue: () => Promise<T>): Promise<T>;
  log: Logger;
}

function grantLines(g: Grant): string[] {
  return [`user ${g.cn}`, `topic readwrite $aws/things/${g.thingName}/#`, `topic readwrite twinslot/${g.thingName}/#`];
}

async function readGrants(dir: string): Promise<Grant[]> {
  try {
    return JSON.parse(await readFile(join(dir, 'provisioning', 'grants.json'), 'utf8')) as Grant[];
  } catch {
    return [];
  }
}

/** Broker ACL lines for the claim certificate and every grant made so far (before the broker starts). */
export async function provisioningAcl(dir: string): Promise<string[]> {
  return [...claimAclLines(CLAIM_CN), ...(await readGrants(dir)).flatMap(grantLines)];
}

/** The responder certificate, issued once; the broker must list PROVISIONING_CN as privileged. */
export async function provisioningResponderCert(pki: Pki): Promise<{ cert: string; key: string }> {
  const cert = join(pki.dir, 'clients', `${PROVISIONING_CN}.crt`);
  const key = join(pki.dir, 'clients', `${PROVISIONING_CN}.key`);
  if (!existsSync(cert)) await issueClientCert(pki, PROVISIONING_CN);
  return { cert, key };
}

/** The claim certificate under `<dir>/claims` (issued once) and the config section that uses it. */
export async function createClaim(dir: string, pki: Pki, templateNames: string[], exclusive = <T>(issue: () => Promise<T>): Promise<T> => issue()): Promise<ClaimCredentials> {
  const claimsDir = join(dir, 'claims');
  const certPath = join(claimsDir, `${CLAIM_CN}.crt`);
  const keyPath = join(claimsDir, `${CLAIM_CN}.key`);
  if (!existsSync(certPath) || !existsSync(keyPath)) await exclusive(() => issueClientCert(pki, CLAIM_CN, claimsDir));
  return {
    certPath, keyPath, caPath: pki.caCert, templateNames,
    config: { provisioning: { mode: 'claim', claimCertPath: certPath, claimKeyPath: keyPath, templateName: templateNames[0] ?? '', parameters: {} } },
  };
}

/** Starts the provisioning responder on the emulator's broker. */
export async function startFleetService(opts: FleetServiceOptions): Promise<FleetService> {
  const stateDir = join(opts.dir, 'provisioning');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const grants = await readGrants(opts.dir);
  const startCount = grants.length;
  const fleet = new FleetProvisioning({
    pki: opts.pki, dir: join(stateDir, 'certs'), templates: opts.templates, exclusive: (issue) => opts.exclusive(issue),
    grant: async (cn, thingName) => {
      grants.push({ cn, thingName });
      await writeFileAtomic(join(stateDir, 'grants.json'), `${JSON.stringify(grants, null, 2)}\n`, 0o600);
      // The broker was started with the earlier grants in its ACL; later ones are added here.
      await opts.broker.writeAcl(grants.slice(startCount).flatMap(grantLines));
      opts.broker.reload();
      opts.log.info({ event: 'thing-provisioned', cn, thingName }, 'RegisterThing granted the thing its topics');
    },
  });
  const creds = await provisioningResponderCert(opts.pki);
  const responder = await startProvisioningResponder({
    host: opts.broker.host, port: opts.broker.port, caPath: opts.pki.caCert, certPath: creds.cert, keyPath: creds.key, fleet, log: opts.log,
  });
  return {
    createClaim: () => createClaim(opts.dir, opts.pki, Object.keys(opts.templates), (issue) => opts.exclusive(issue)),
    stop: () => responder.stop(),
  };
}
