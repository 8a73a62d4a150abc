// Fleet provisioning by claim: connect once with the claim certificate, CreateKeysAndCertificate,
// RegisterThing with the template, store the permanent certificate and key (0600), and never
// touch the claim certificate again once they exist.
//
// INVARIANTS
// - The permanent key and certificate are written only after RegisterThing is accepted, each
//   atomically and durably, key first: a crash leaves either no usable pair (claim again) or a
//   complete one.
// - A complete pair on disk means provisioned: the claim credentials are not read at all.

import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
// The identity client module alone: the SDK's root module loads every service client (~+10 MiB).
import { IotIdentityClientv2 } from 'aws-iot-device-sdk-v2/dist/iotidentity/iotidentityclientv2.js';
import { io, mqtt5 } from 'aws-crt';
import { CodedError, messageOf } from '../../common/errors.ts';
import { writeFileAtomic } from '../../common/durable-file.ts';
import type { Endpoint } from '../config.ts';
import type { ClaimConfig } from './config.ts';

export interface ClaimTarget {
  endpoint: Endpoint;
  caPath?: string;
  /** Client id for the claim connection. */
  clientId: string;
  certPath: string;
  keyPath: string;
  timeoutMs: number;
  /** The thing name the agent is configured with; RegisterThing must name the same thing. */
  expectThingName?: string;
}

export type ClaimResult =
  | { kind: 'already-provisioned' }
  | { kind: 'provisioned'; thingName: string; certificateId: string };

async function connect(claim: ClaimConfig, target: ClaimTarget): Promise<mqtt5.Mqtt5Client> {
  const tls = io.TlsContextOptions.create_client_with_mtls(await readFile(claim.claimCertPath, 'utf8'), await readFile(claim.claimKeyPath, 'utf8'));
  if (target.caPath !== undefined) tls.override_default_trust_store(await readFile(target.caPath, 'utf8'));
  const client = new mqtt5.Mqtt5Client({
    hostName: target.endpoint.host,
    port: target.endpoint.port,
    tlsCtx: new io.ClientTlsContext(tls),
    connectProperties: { clientId: target.clientId, keepAliveIntervalSeconds: 60 },
  });
  client.on('error', () => undefined);
  const outcome = Promise.race([
    once(client, 'connectionSuccess').then(() => undefined),
    once(client, 'connectionFailure').then((args: unknown[]) => {
      const e = args[0] as mqtt5.ConnectionFailureEvent;
      throw new CodedError('PROVISIONING_CONNECT_FAILED', `claim connection failed: ${messageOf(e.error)}`);
    }),
    once(AbortSignal.timeout(target.timeoutMs), 'abort').then(() => { throw new CodedError('PROVISIONING_TIMEOUT', 'claim connection timed out'); }),
  ]);
  client.start();
  try {
    await outcome;
  } catch (err) {
    client.close();
    throw err;
  }
  return client;
}

async function close(client: mqtt5.Mqtt5Client): Promise<void> {
  const stopped = once(client, 'stopped');
  client.stop();
  await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 5000))]);
  client.close();
}

/** Provisions the device's permanent certificate unless it already has one. */
export async function provisionByClaim(claim: ClaimConfig, target: ClaimTarget): Promise<ClaimResult> {
  if (existsSync(target.certPath) && existsSync(target.keyPath)) return { kind: 'already-provisioned' };
  const client = await connect(claim, target);
  const identity = IotIdentityClientv2.newFromMqtt5(client, {
    maxRequestResponseSubscriptions: 2, maxStreamingSubscriptions: 1, operationTimeoutInSeconds: Math.ceil(target.timeoutMs / 1000),
  });
  try {
    const created = await identity.createKeysAndCertificate({});
    const { certificateOwnershipToken: token, privateKey, certificatePem, certificateId } = created;
    if (!token || !privateKey || !certificatePem || !certificateId) {
      throw new CodedError('PROVISIONING_REJECTED', 'CreateKeysAndCertificate returned an incomplete response');
    }
    const registered = await identity.registerThing({ templateName: claim.templateName, certificateOwnershipToken: token, parameters: claim.parameters });
    const expected = target.expectThingName;
    if (expected !== undefined && registered.thingName !== expected) {
      throw new CodedError('PROVISIONING_THING_MISMATCH', `template ${claim.templateName} registered thing ${registered.thingName ?? '(none)'}, but device.thingName is ${expected}; the agent would listen on the wrong topics`);
    }
    await writeFileAtomic(target.keyPath, privateKey, 0o600);
    await writeFileAtomic(target.certPath, certificatePem, 0o600);
    return { kind: 'provisioned', thingName: registered.thingName ?? '', certificateId };
  } catch (err) {
    if (err instanceof CodedError) throw err;
    throw new CodedError('PROVISIONING_REJECTED', `fleet provisioning failed: ${messageOf(err)}`, {}, { cause: err });
  } finally {
    identity.close();
    await close(client);
  }
}
