// PUBLISH and SUBSCRIBE on a live client, with the agent's packet shapes: QoS 0/1 only, user
// properties passed through, and the retained device status.

import { mqtt5 } from 'aws-crt';
import type { ConnectionConfig } from '../config.ts';
import { encodeStatus, statusTopic, type OfflineStatus, type OnlineStatus } from './topics.ts';

export interface PublishRequest {
  topic: string;
  payload: string | Uint8Array;
  qos: 0 | 1;
  retain?: boolean;
  userProperties?: Array<{ name: string; value: string }>;
}

export interface Subscription {
  topicFilter: string;
  qos: 0 | 1;
}

/** Publish and resolve with the PUBACK reason code (0 = success; QoS 0 resolves 0 when written). */
export async function publishPacket(client: mqtt5.Mqtt5Client, request: PublishRequest): Promise<number> {
  const packet: mqtt5.PublishPacket = {
    topicName: request.topic,
    payload: typeof request.payload === 'string' ? request.payload : Buffer.from(request.payload),
    qos: request.qos === 1 ? mqtt5.QoS.AtLeastOnce : mqtt5.QoS.AtMostOnce,
    retain: request.retain ?? false,
  };
  if (request.userProperties !== undefined && request.userProperties.length > 0) packet.userProperties = request.userProperties;
  const result = await client.publish(packet);
  return result?.reasonCode ?? 0;
}

/** Subscribe and resolve with one SUBACK reason code per filter (≥ 0x80 = refused). */
export async function subscribePacket(client: mqtt5.Mqtt5Client, subscriptions: Subscription[]): Promise<number[]> {
  const suback = await client.subscribe({
    subscriptions: subscriptions.map((s) => ({
      topicFilter: s.topicFilter,
      qos: s.qos === 1 ? mqtt5.QoS.AtLeastOnce : mqtt5.QoS.AtMostOnce,
    })),
  });
  return suback.reasonCodes.map(Number);
}

type StatusFields = Omit<OnlineStatus, 'thingName' | 'clientId' | 'version'> | Omit<OfflineStatus, 'thingName' | 'clientId'>;

/** Publish the retained device status (QoS 1). */
export async function publishStatus(client: mqtt5.Mqtt5Client, config: ConnectionConfig, fields: StatusFields): Promise<number> {
  const base = { thingName: config.thingName, clientId: config.clientId };
  const status = fields.state === 'online' ? { ...fields, ...base, version: config.version } : { ...fields, ...base };
  return publishPacket(client, { topic: statusTopic(config.thingName), payload: encodeStatus(status), qos: 1, retain: true });
}
