// The MQTT side of fleet provisioning: one privileged client on the provisioning topics that
// hands each request to FleetProvisioning and publishes its accepted/rejected replies.
// MQTT.js rather than the CRT client, as the Jobs responder: the CRT client keeps a Node process
// alive after close() (aws-crt-nodejs issue #600), and the emulator daemon must exit on SIGTERM.

import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { CodedError, messageOf } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { CREATE_FROM_CSR_TOPIC, CREATE_TOPIC, PROVISION_FILTER, type FleetProvisioning } from './fleet.ts';

export const PROVISIONING_CN = 'twinslot-provisioning-responder';

export interface ProvisioningResponderOptions {
  host: string;
  port: number;
  caPath: string;
  certPath: string;
  keyPath: string;
  fleet: FleetProvisioning;
  log: Logger;
}

export interface ProvisioningResponder { stop(): Promise<void> }

/** Claim-certificate topics a broker ACL must open to claim certificates (user `cn`). */
export function claimAclLines(cn: string): string[] {
  return [`user ${cn}`, 'topic readwrite $aws/certificates/#', 'topic readwrite $aws/provisioning-templates/#'];
}

/** Connects and subscribes; resolves when requests can be answered. */
export async function startProvisioningResponder(opts: ProvisioningResponderOptions): Promise<ProvisioningResponder> {
  const [ca, cert, key] = await Promise.all([readFile(opts.caPath), readFile(opts.certPath), readFile(opts.keyPath)]);
  const client = mqtt.connect(`mqtts://${opts.host}:${opts.port}`, {
    ca, cert, key, rejectUnauthorized: true, protocolVersion: 5, clientId: PROVISIONING_CN,
    // A persistent session keeps requests devices sent while the responder reconnected.
    clean: false, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 500, connectTimeout: 20_000, keepalive: 30,
  });
  const filters = [CREATE_TOPIC, CREATE_FROM_CSR_TOPIC, PROVISION_FILTER];
  const subscribe = (): Promise<unknown> => client.subscribeAsync(filters, { qos: 1, nl: true });
  // Replies of one request go out in order; requests are answered as they come.
  const answer = async (topic: string, payload: Uint8Array): Promise<void> => {
    for (const reply of await opts.fleet.handle(topic, payload)) {
      await client.publishAsync(reply.topic, JSON.stringify(reply.payload), { qos: 1 });
      opts.log.info({ event: 'provisioning-reply', topic: reply.topic }, 'fleet provisioning reply');
    }
  };
  client.on('message', (topic, payload) => {
    if (!opts.fleet.handles(topic)) return;
    answer(topic, payload).catch((err: unknown) => opts.log.error({ event: 'provisioning-failed', err: messageOf(err) }, 'fleet provisioning request failed'));
  });
  client.on('error', (err) => opts.log.warn({ event: 'provisioning-responder-error', err: messageOf(err) }, 'provisioning responder MQTT error'));
  client.on('connect', (ack) => {
    if (ack.sessionPresent) return;
    subscribe().catch((err: unknown) => opts.log.error({ event: 'subscribe-failed', err: messageOf(err) }, 'provisioning subscribe failed'));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CodedError('EMULATOR_RESPONDER_TIMEOUT', 'the provisioning responder could not connect')), 20_000);
      client.once('connect', () => { clearTimeout(timer); resolve(); });
    });
    await subscribe();
  } catch (err) {
    await client.endAsync(true);
    throw err;
  }
  return { stop: () => client.endAsync() };
}
