// One Mqtt5Client for one connection attempt and the connection it may lead to. The agent owns
// the retry policy: the SDK's own reconnect delay is pushed out of reach (an hour) and the
// client is destroyed on the first failure or disconnection, so the SDK never retries itself.
//
// Why RejoinAlways and not RejoinPostSuccess: every attempt uses a fresh client, and a fresh
// client under RejoinPostSuccess starts clean, which would throw the broker's persistent
// session (subscriptions, queued QoS 1 messages) away on every reconnect. The client-side half
// of the session that MQTT 5 asks for is the durable outbox; only QoS 0/1 are used, so nothing
// of QoS 2's state can be missing.

// aws-crt itself (the SDK's transport, same package instance): the SDK's root module loads every
// service client and Greengrass IPC too, ~10 MiB of RSS the connection does not need.
import { io, mqtt5 } from 'aws-crt';
import type { ConnectionConfig, Endpoint } from '../config.ts';
import type { Credentials } from './credentials.ts';
import { classifyDisconnect, classifyFailure, type DisconnectKind, type FailureKind } from './reasons.ts';
import { encodeStatus, statusTopic } from './topics.ts';

export interface ClientCallbacks {
  connected(rejoinedSession: boolean): void;
  failed(kind: FailureKind, detail: string): void;
  disconnected(kind: DisconnectKind, detail: string, reasonCode: number | undefined): void;
  message(topic: string, payload: Buffer, userProperties: ReadonlyArray<{ name: string; value: string }>): void;
}

const SDK_RETRY_OUT_OF_REACH_MS = 3_600_000;

/** Build and start a client for one endpoint; `callbacks` receive its outcomes. */
export function startClient(config: ConnectionConfig, endpoint: Endpoint, creds: Credentials, callbacks: ClientCallbacks): mqtt5.Mqtt5Client {
  const tls = io.TlsContextOptions.create_client_with_mtls(creds.cert, creds.key);
  if (creds.ca !== undefined) tls.override_default_trust_store(creds.ca);
  const client = new mqtt5.Mqtt5Client({
    hostName: endpoint.host,
    port: endpoint.port,
    tlsCtx: new io.ClientTlsContext(tls),
    sessionBehavior: mqtt5.ClientSessionBehavior.RejoinAlways,
    retryJitterMode: mqtt5.RetryJitterType.None,
    minReconnectDelayMs: SDK_RETRY_OUT_OF_REACH_MS,
    maxReconnectDelayMs: SDK_RETRY_OUT_OF_REACH_MS,
    offlineQueueBehavior: mqtt5.ClientOperationQueueBehavior.FailAllOnDisconnect,
    pingTimeoutMs: config.pingTimeoutMs,
    connackTimeoutMs: config.connackTimeoutMs,
    extendedValidationAndFlowControlOptions:
      config.flowControl === 'aws-iot-core'
        ? mqtt5.ClientExtendedValidationAndFlowControl.AwsIotCoreDefaults
        : mqtt5.ClientExtendedValidationAndFlowControl.None,
    connectProperties: {
      clientId: config.clientId,
      keepAliveIntervalSeconds: config.keepAliveSeconds,
      sessionExpiryIntervalSeconds: config.sessionExpirySeconds,
      will: {
        topicName: statusTopic(config.thingName),
        qos: mqtt5.QoS.AtLeastOnce,
        retain: true,
        payload: encodeStatus({ state: 'offline', thingName: config.thingName, clientId: config.clientId, cause: 'will' }),
      },
    },
  });
  wire(client, callbacks);
  client.start();
  return client;
}

function wire(client: mqtt5.Mqtt5Client, cb: ClientCallbacks): void {
  client.on('connectionSuccess', (e) => cb.connected(e.settings.rejoinedSession));
  client.on('connectionFailure', (e) => {
    const reason = e.connack?.reasonCode;
    const detail = reason === undefined ? e.error.error_name ?? 'UNKNOWN' : `CONNACK 0x${reason.toString(16)}`;
    cb.failed(classifyFailure(e.error.error_name ?? '', reason), detail);
  });
  client.on('disconnection', (e) => {
    const code = e.disconnect?.reasonCode;
    const detail = code === undefined ? e.error.error_name ?? 'UNKNOWN' : `DISCONNECT 0x${code.toString(16)}${e.disconnect?.reasonString ? ` ${e.disconnect.reasonString}` : ''}`;
    cb.disconnected(classifyDisconnect(code), detail, code);
  });
  client.on('messageReceived', (e) => {
    const payload = e.message.payload === undefined ? Buffer.alloc(0) : Buffer.from(e.message.payload as ArrayBuffer);
    cb.message(e.message.topicName, payload, e.message.userProperties ?? []);
  });
  // Serious client errors arrive as failures or disconnections too; this keeps them from
  // becoming an unhandled 'error' event.
  client.on('error', () => undefined);
}

/**
 * Stop and free a client within `timeoutMs`: DISCONNECT (normal) if connected, wait for
 * `stopped`, then close() — close is what frees the native handles, so it always runs.
 */
export async function destroyClient(client: mqtt5.Mqtt5Client, timeoutMs: number): Promise<void> {
  const stopped = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    client.once('stopped', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  try {
    client.stop({ reasonCode: mqtt5.DisconnectReasonCode.NormalDisconnection });
  } catch {
    // already stopped
  }
  await stopped;
  client.removeAllListeners();
  client.close();
}
