// The MQTT side of the Jobs service: one privileged client that hears every thing's requests
// on `$aws/things/+/jobs/#` and publishes the engine's replies and events. Mosquitto's `#` at
// the start of a filter does not match `$aws/...`, hence the explicit prefix.
// MQTT.js rather than the CRT client: the responder is the service side, and the CRT client
// keeps a Node process alive after close() (aws-crt-nodejs issue #600), which a daemon that
// must exit on SIGTERM cannot afford.

import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import type { Logger } from '../common/log.ts';
import { CodedError, messageOf } from '../common/errors.ts';
import type { OutMessage } from './jobs/model.ts';

export const RESPONDER_CN = 'twinslot-jobs-responder';
const FILTER = '$aws/things/+/jobs/#';

export interface ResponderOptions {
  host: string;
  port: number;
  caPath: string;
  certPath: string;
  keyPath: string;
  log: Logger;
  onRequest(topic: string, payload: Uint8Array): void;
}

export interface Responder {
  publish(messages: OutMessage[]): void;
  stop(): Promise<void>;
}

/** Connects the responder and resolves once its subscription is in place. */
export async function startResponder(opts: ResponderOptions): Promise<Responder> {
  const [ca, cert, key] = await Promise.all([readFile(opts.caPath), readFile(opts.certPath), readFile(opts.keyPath)]);
  const client = mqtt.connect(`mqtts://${opts.host}:${opts.port}`, {
    ca, cert, key, rejectUnauthorized: true, protocolVersion: 5, clientId: RESPONDER_CN,
    // A persistent session keeps requests devices sent while the responder reconnected.
    clean: false, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 500, connectTimeout: 20_000, keepalive: 30,
  });
  client.on('message', (topic, payload) => opts.onRequest(topic, payload));
  client.on('error', (err) => opts.log.warn({ event: 'responder-error', err: messageOf(err) }, 'responder MQTT error'));
  client.on('connect', (ack) => {
    if (ack.sessionPresent) return;
    client.subscribeAsync(FILTER, { qos: 1, nl: true })
      .catch((err: unknown) => opts.log.error({ event: 'subscribe-failed', err: messageOf(err) }, 'responder subscribe failed'));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CodedError('EMULATOR_RESPONDER_TIMEOUT', 'the jobs responder could not connect to Mosquitto')), 20_000);
      client.once('connect', () => { clearTimeout(timer); resolve(); });
    });
    await client.subscribeAsync(FILTER, { qos: 1, nl: true });
  } catch (err) {
    await client.endAsync(true);
    throw err;
  }
  return {
    publish(messages) {
      // MQTT.js sends in call order, so replies precede the events they cause.
      for (const m of messages) {
        client.publish(m.topic, JSON.stringify(m.payload), { qos: 1 }, (err) => {
          if (err) opts.log.warn({ event: 'publish-failed', topic: m.topic, err: messageOf(err) }, 'responder publish failed');
        });
      }
    },
    stop: () => client.endAsync(),
  };
}
