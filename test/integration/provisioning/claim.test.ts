// Fleet provisioning by claim against a real Mosquitto and the emulator's provisioning service:
// claim credentials → permanent certificate issued and stored 0600 → a new connection with it
// reaches the thing's topics; the claim certificate is never used again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { io, mqtt5 } from 'aws-iot-device-sdk-v2';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { silentLogger } from '../../../common/log.ts';
import { FleetProvisioning, CREATE_FROM_CSR_TOPIC } from '../../../emulator/provisioning/fleet.ts';
import { claimAclLines, PROVISIONING_CN, startProvisioningResponder } from '../../../emulator/provisioning/responder.ts';
import { provisionByClaim, type ClaimTarget } from '../../../agent/provisioning/claim.ts';
import { parseProvisioningConfig } from '../../../agent/provisioning/config.ts';
import { exitAfterCrtTests } from '../emulator/helpers.ts';

const run = promisify(execFile);
exitAfterCrtTests();
// A failure must end the test, not leave it waiting on a CRT event that never comes.
const LIMIT = { timeout: 120_000 };

function within<T>(what: string, p: Promise<T>, ms = 60_000): Promise<T> {
  const timer = AbortSignal.timeout(ms);
  return Promise.race([p, once(timer, 'abort').then(() => { throw new Error(`no ${what} within ${ms} ms`); })]);
}

async function setup(t: Parameters<typeof startTestBroker>[0]): Promise<{ tb: TestBroker; fleet: FleetProvisioning; root: string }> {
  const tb = await startTestBroker(t, { privileged: [PROVISIONING_CN], aclExtra: claimAclLines('claim-fleet') });
  const grants: string[] = [];
  const fleet = new FleetProvisioning({
    pki: tb.pki, dir: join(tb.dir, 'fleet'), templates: { GatewayTemplate: { thingNameParameter: 'ThingName' } },
    grant: async (cn, thing) => {
      grants.push(`user ${cn}`, `topic readwrite $aws/things/${thing}/#`);
      await tb.broker.writeAcl(grants);
      tb.broker.reload();
    },
  });
  const responderCreds = await tb.thing(PROVISIONING_CN);
  const responder = await startProvisioningResponder({
    host: '127.0.0.1', port: tb.broker.port, caPath: tb.broker.caPath, certPath: responderCreds.cert, keyPath: responderCreds.key, fleet, log: silentLogger(),
  });
  const root = await mkdtemp(join(tmpdir(), 'twinslot-claim-'));
  t.after(async () => {
    await responder.stop();
    await rm(root, { recursive: true, force: true });
  });
  return { tb, fleet, root };
}

function target(tb: TestBroker, root: string): ClaimTarget {
  return { endpoint: { host: '127.0.0.1', port: tb.broker.port }, caPath: tb.broker.caPath, clientId: 'claim-gw-7',
    certPath: join(root, 'device.crt'), keyPath: join(root, 'device.key'), timeoutMs: 30_000 };
}

/** Connects with `cert`/`key` and round-trips one message on the thing's own topic. */
async function roundTrip(tb: TestBroker, cert: string, key: string, thing: string): Promise<string> {
  const tls = io.TlsContextOptions.create_client_with_mtls_from_path(cert, key);
  tls.override_default_trust_store_from_path(undefined, tb.broker.caPath);
  const client = new mqtt5.Mqtt5Client({ hostName: '127.0.0.1', port: tb.broker.port, tlsCtx: new io.ClientTlsContext(tls), connectProperties: { clientId: thing, keepAliveIntervalSeconds: 30 } });
  client.on('error', () => undefined);
  const connected = once(client, 'connectionSuccess');
  client.start();
  await within('connection with the permanent certificate', connected);
  try {
    const topic = `$aws/things/${thing}/hello`;
    // The ACL reload after RegisterThing is asynchronous (SIGHUP): retry until the grant is live.
    for (let i = 0; ; i++) {
      const suback = await client.subscribe({ subscriptions: [{ topicFilter: topic, qos: mqtt5.QoS.AtLeastOnce }] });
      if (suback.reasonCodes[0] === mqtt5.SubackReasonCode.GrantedQoS1) break;
      if (i > 100) throw new Error(`subscription refused: ${String(suback.reasonCodes[0])}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const received = once(client, 'messageReceived');
    await client.publish({ topicName: topic, qos: mqtt5.QoS.AtLeastOnce, payload: 'with the permanent certificate' });
    const [event] = (await within('message', received)) as [mqtt5.MessageReceivedEvent];
    return Buffer.from(event.message.payload as ArrayBuffer).toString('utf8');
  } finally {
    const stopped = once(client, 'stopped');
    client.stop();
    await within('stop', stopped).catch(() => undefined);
    client.close();
  }
}

test('claim → permanent certificate stored 0600 → it connects as the thing; the claim is not used again', LIMIT, async (t) => {
  const { tb, root } = await setup(t);
  const claimCreds = await tb.thing('claim-fleet');
  const claim = parseProvisioningConfig({ provisioning: {
    mode: 'claim', claimCertPath: claimCreds.cert, claimKeyPath: claimCreds.key, templateName: 'GatewayTemplate', parameters: { ThingName: 'gw-7' },
  } });
  assert.ok(claim);
  const result = await provisionByClaim(claim, target(tb, root));
  assert.equal(result.kind, 'provisioned');
  assert.equal(result.kind === 'provisioned' && result.thingName, 'gw-7');
  assert.equal((await stat(join(root, 'device.key'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(root, 'device.crt'))).mode & 0o777, 0o600);
  assert.match(await readFile(join(root, 'device.crt'), 'utf8'), /BEGIN CERTIFICATE/);
  assert.equal(await roundTrip(tb, join(root, 'device.crt'), join(root, 'device.key'), 'gw-7'), 'with the permanent certificate');

  // Provisioned: the claim credentials are not even read any more.
  const gone = { ...claim, claimCertPath: join(root, 'missing.crt'), claimKeyPath: join(root, 'missing.key') };
  assert.deepEqual(await provisionByClaim(gone, target(tb, root)), { kind: 'already-provisioned' });
});

test('an unknown template is rejected and no credentials are written', LIMIT, async (t) => {
  const { tb, root } = await setup(t);
  const claimCreds = await tb.thing('claim-fleet');
  const claim = { mode: 'claim' as const, claimCertPath: claimCreds.cert, claimKeyPath: claimCreds.key, templateName: 'NoSuchTemplate', parameters: { ThingName: 'gw-8' } };
  await assert.rejects(provisionByClaim(claim, target(tb, root)), (err: { code?: string }) => err.code === 'PROVISIONING_REJECTED');
  assert.equal(existsSync(join(root, 'device.key')), false);
  assert.equal(existsSync(join(root, 'device.crt')), false);
});

test('CreateCertificateFromCsr signs a locally generated key with the emulator CA', LIMIT, async (t) => {
  const { tb, fleet, root } = await setup(t);
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(root, 'local.key'), '-out', join(root, 'local.csr'), '-subj', '/CN=anything']);
  const csr = await readFile(join(root, 'local.csr'), 'utf8');
  const [reply] = await fleet.handle(CREATE_FROM_CSR_TOPIC, Buffer.from(JSON.stringify({ certificateSigningRequest: csr })));
  assert.equal(reply?.topic, `${CREATE_FROM_CSR_TOPIC}/accepted`);
  const pem = reply.payload['certificatePem'];
  assert.equal(typeof pem, 'string');
  await writeFile(join(root, 'local.crt'), pem as string);
  const { stdout } = await run('openssl', ['verify', '-CAfile', tb.pki.caCert, join(root, 'local.crt')]);
  assert.match(stdout, /OK/);
  const [bad] = await fleet.handle(CREATE_FROM_CSR_TOPIC, Buffer.from('{"certificateSigningRequest":"nope"}'));
  assert.deepEqual(bad?.payload, { statusCode: 400, errorCode: 'InvalidRequest', errorMessage: 'certificateSigningRequest must be a PEM CSR' });
});

test('the provisioning section is validated', () => {
  assert.equal(parseProvisioningConfig({}), null);
  assert.throws(() => parseProvisioningConfig({ provisioning: { mode: 'claim', extra: 1 } }), /provisioning\.extra: unknown key/);
  assert.throws(() => parseProvisioningConfig({ provisioning: { mode: 'csr' } }), /provisioning\.mode/);
});
