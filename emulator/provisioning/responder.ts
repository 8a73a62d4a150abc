// The MQTT side of fleet provisioning: one privileged client on the provisioning topics that
// hands each request to FleetProvisioning and publishes its accepted/rejected replies.

import { once } from 'node:events';
import { io, mqtt5 } from 'aws-iot-device-sdk-v2';
import { CodedError } from '../../common/errors.ts';
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
  const tls = io.TlsContextOptions.create_client_with_mtls_from_path(opts.certPath, opts.keyPath);
  tls.override_default_trust_store_from_path(undefined, opts.caPath);
  const client = new mqtt5.Mqtt5Client({
    hostName: opts.host,
    port: opts.port,
    tlsCtx: new io.ClientTlsContext(tls),
    minReconnectDelayMs: 200,
    maxReconnectDelayMs: 5000,
    connectProperties: { clientId: PROVISIONING_CN, keepAliveIntervalSeconds: 30 },
  });
  const filters = [CREATE_TOPIC, CREATE_FROM_CSR_TOPIC, PROVISION_FILTER];
  const subscribe = async (): Promise<void> => {
    await client.subscribe({ subscriptions: filters.map((topicFilter) => ({ topicFilter, qos: mqtt5.QoS.AtLeastOnce, noLocal: true })) });
  };
  const answer = async (topic: string, payload: Uint8Array): Promise<void> => {
    for (const reply of await opts.fleet.handle(topic, payload)) {
      await client.publish({ topicName: reply.topic, qos: mqtt5.QoS.AtLeastOnce, payload: JSON.stringify(reply.payload) });
      opts.log.info({ event: 'provisioning-reply', topic: reply.topic }, 'fleet provisioning reply');
    }
  };
  client.on('messageReceived', (e) => {
    const payload = e.message.payload === undefined ? new Uint8Array(0) : new Uint8Array(e.message.payload as ArrayBuffer);
    if (!opts.fleet.handles(e.message.topicName)) return;
    answer(e.message.topicName, payload).catch((err: unknown) => opts.log.error({ event: 'provisioning-failed', err: String(err) }, 'fleet provisioning request failed'));
  });
  client.on('connectionSuccess', () => {
    subscribe().catch((err: unknown) => opts.log.error({ event: 'subscribe-failed', err: String(err) }, 'provisioning subscribe failed'));
  });
  client.on('error', () => undefined);
  const connected = once(client, 'connectionSuccess');
  client.start();
  const timeout = AbortSignal.timeout(20_000);
  try {
    await Promise.race([connected, once(timeout, 'abort').then(() => { throw new CodedError('EMULATOR_RESPONDER_TIMEOUT', 'the provisioning responder could not connect'); })]);
    await subscribe();
  } catch (err) {
    client.close();
    throw err;
  }
  return {
    async stop() {
      const stopped = once(client, 'stopped');
      client.stop();
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 5000))]);
      client.removeAllListeners();
      client.close();
    },
  };
}
