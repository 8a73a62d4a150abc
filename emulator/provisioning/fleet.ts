// AWS IoT fleet provisioning's MQTT API on the emulator's PKI: CreateKeysAndCertificate,
// CreateCertificateFromCsr and RegisterThing, with AWS's topics and payload shapes
// (accepted/rejected, {statusCode, errorCode, errorMessage}). Certificates are issued with a CN
// derived from the certificate id; RegisterThing grants that CN its thing's topics, as AWS
// attaches the certificate and policy to the thing.

import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { issueClientCert, type Pki } from '../broker/pki.ts';

const run = promisify(execFile);

export const CREATE_TOPIC = '$aws/certificates/create/json';
export const CREATE_FROM_CSR_TOPIC = '$aws/certificates/create-from-csr/json';
export const PROVISION_FILTER = '$aws/provisioning-templates/+/provision/json';
const PROVISION_RE = /^\$aws\/provisioning-templates\/([^/]+)\/provision\/json$/;
const TOKEN_TTL_MS = 3_600_000;

export interface Template {
  /** The RegisterThing parameter that names the thing (AWS templates: `ThingName` or a serial). */
  thingNameParameter: string;
  thingNamePrefix?: string;
}

export interface Reply { topic: string; payload: Record<string, unknown> }

export interface FleetOptions {
  pki: Pki;
  /** Where issued certificates and keys are kept. */
  dir: string;
  templates: Record<string, Template>;
  /** Grants certificate CN `cn` the topics of `thingName` (ACL line + broker reload). */
  grant(cn: string, thingName: string): Promise<void>;
  now?: () => number;
  /** Runs one certificate issue at a time with the emulator's others (`openssl ca` keeps files). */
  exclusive?: <T>(issue: () => Promise<T>) => Promise<T>;
}

interface Pending { cn: string; expires: number }

function rejected(topic: string, statusCode: number, errorCode: string, errorMessage: string): Reply[] {
  return [{ topic: `${topic}/rejected`, payload: { statusCode, errorCode, errorMessage } }];
}

/** Answers fleet provisioning requests; one instance per emulator. */
export class FleetProvisioning {
  readonly #opts: FleetOptions;
  readonly #pending = new Map<string, Pending>();

  constructor(opts: FleetOptions) {
    this.#opts = opts;
  }

  /** True for the topics this service answers. */
  handles(topic: string): boolean {
    return topic === CREATE_TOPIC || topic === CREATE_FROM_CSR_TOPIC || PROVISION_RE.test(topic);
  }

  /** The replies to one request. */
  async handle(topic: string, payload: Uint8Array): Promise<Reply[]> {
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(payload).toString('utf8') || '{}');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return rejected(topic, 400, 'InvalidPayload', 'payload is not a JSON object');
    }
    if (topic === CREATE_TOPIC) return this.#createKeys(topic);
    if (topic === CREATE_FROM_CSR_TOPIC) return this.#createFromCsr(topic, body);
    const template = PROVISION_RE.exec(topic)?.[1];
    return template === undefined ? [] : this.#register(topic, template, body);
  }

  async #issue(topic: string, certificateId: string, extra: Record<string, unknown>, certPath: string): Promise<Reply[]> {
    const token = randomBytes(32).toString('base64url');
    this.#pending.set(token, { cn: `cert-${certificateId.slice(0, 32)}`, expires: this.#now() + TOKEN_TTL_MS });
    const certificatePem = await readFile(certPath, 'utf8');
    return [{ topic: `${topic}/accepted`, payload: { certificateId, certificatePem, ...extra, certificateOwnershipToken: token } }];
  }

  async #createKeys(topic: string): Promise<Reply[]> {
    const certificateId = randomBytes(32).toString('hex');
    const creds = await this.#exclusive(() => issueClientCert(this.#opts.pki, `cert-${certificateId.slice(0, 32)}`, this.#opts.dir));
    return this.#issue(topic, certificateId, { privateKey: await readFile(creds.key, 'utf8') }, creds.cert);
  }

  async #createFromCsr(topic: string, body: Record<string, unknown>): Promise<Reply[]> {
    const csr = body['certificateSigningRequest'];
    if (typeof csr !== 'string' || !csr.includes('CERTIFICATE REQUEST')) {
      return rejected(topic, 400, 'InvalidRequest', 'certificateSigningRequest must be a PEM CSR');
    }
    const certificateId = randomBytes(32).toString('hex');
    await mkdir(this.#opts.dir, { recursive: true, mode: 0o700 });
    const base = join(this.#opts.dir, `csr-${randomUUID()}`);
    await writeFile(`${base}.csr`, csr);
    try {
      // The CN is the emulator's, whatever the CSR asks for (AWS ignores the subject too).
      await this.#exclusive(() => run('openssl', ['ca', '-batch', '-config', join(this.#opts.pki.dir, 'ca.cnf'), '-extensions', 'client_ext',
        '-notext', '-subj', `/CN=cert-${certificateId.slice(0, 32)}`, '-in', `${base}.csr`, '-out', `${base}.crt`], { cwd: this.#opts.pki.dir }));
    } catch {
      return rejected(topic, 400, 'InvalidRequest', 'the CSR could not be signed');
    }
    return this.#issue(topic, certificateId, {}, `${base}.crt`);
  }

  async #register(topic: string, templateName: string, body: Record<string, unknown>): Promise<Reply[]> {
    const template = this.#opts.templates[templateName];
    if (!template) return rejected(topic, 404, 'ResourceNotFoundException', `no provisioning template ${templateName}`);
    const token = body['certificateOwnershipToken'];
    const pending = typeof token === 'string' ? this.#pending.get(token) : undefined;
    if (!pending || pending.expires < this.#now()) return rejected(topic, 400, 'InvalidCertificateOwnershipToken', 'unknown or expired certificateOwnershipToken');
    const params = body['parameters'];
    const value = typeof params === 'object' && params !== null ? (params as Record<string, unknown>)[template.thingNameParameter] : undefined;
    if (typeof value !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(value)) {
      return rejected(topic, 400, 'InvalidRequest', `parameter ${template.thingNameParameter} is missing or not a valid thing name`);
    }
    const thingName = `${template.thingNamePrefix ?? ''}${value}`;
    this.#pending.delete(token as string);
    await this.#opts.grant(pending.cn, thingName);
    return [{ topic: `${topic}/accepted`, payload: { thingName, deviceConfiguration: {} } }];
  }

  #exclusive<T>(issue: () => Promise<T>): Promise<T> {
    return this.#opts.exclusive ? this.#opts.exclusive(issue) : issue();
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }
}
