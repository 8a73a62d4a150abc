import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStatus, encodeStatus, statusTopic, topicMatches } from '../../../../agent/connection/topics.ts';
import { classifyDisconnect, classifyFailure } from '../../../../agent/connection/reasons.ts';
import { parseAgentConfig } from '../../../../agent/config.ts';

test('topic filters match like MQTT', () => {
  assert.equal(topicMatches('a/+/c', 'a/b/c'), true);
  assert.equal(topicMatches('a/#', 'a/b/c'), true);
  assert.equal(topicMatches('a/+', 'a/b/c'), false);
  assert.equal(topicMatches('#', '$aws/things/x'), false);
  assert.equal(statusTopic('t1'), 'twinslot/t1/status');
  assert.deepEqual(decodeStatus(encodeStatus({ state: 'offline', thingName: 't', clientId: 'c', cause: 'will' })), { state: 'offline', thingName: 't', clientId: 'c', cause: 'will' });
});

test('CONNACK 0x86/0x87/0x8C and TLS errors are auth failures; timeouts are not', () => {
  for (const code of [0x86, 0x87, 0x8c]) assert.equal(classifyFailure('AWS_ERROR_MQTT5_CONNACK_CONNECTION_REFUSED', code), 'auth');
  assert.equal(classifyFailure('AWS_IO_TLS_ERROR_NEGOTIATION_FAILURE', undefined), 'auth');
  assert.equal(classifyFailure('AWS_IO_TLS_NEGOTIATION_TIMEOUT', undefined), 'timeout');
  assert.equal(classifyFailure('AWS_IO_SOCKET_CONNECTION_REFUSED', undefined), 'network');
  assert.equal(classifyDisconnect(0x8e), 'session-taken-over');
  assert.equal(classifyDisconnect(0x8b), 'server-shutting-down');
  assert.equal(classifyDisconnect(0x8d), 'keep-alive-timeout');
});

test('config: defaults, and clear errors naming the field', () => {
  const c = parseAgentConfig({ device: { thingName: 'd' }, agent: { connection: { endpoints: ['h.example:8883', 'h2'], certPath: '/c', keyPath: '/k' } } });
  assert.deepEqual(c.connection.endpoints, [{ host: 'h.example', port: 8883 }, { host: 'h2', port: 8883 }]);
  assert.equal(c.connection.clientId, 'd');
  assert.equal(c.outbox.maxInFlight, 100);
  assert.throws(() => parseAgentConfig({ device: { thingName: 'd' }, agent: { connection: { endpoints: [], certPath: '/c', keyPath: '/k' } } }), /agent\.connection\.endpoints/);
  assert.throws(() => parseAgentConfig({ device: { thingName: 'd' }, agent: { connection: { endpoints: ['h'], certPath: '/c', keyPath: '/k' }, outbox: { maxInFlight: 500 } } }), /agent\.outbox\.maxInFlight/);
});
