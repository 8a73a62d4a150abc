// The control API that `twinslot job` talks to: JSON over HTTP on 127.0.0.1, one POST route
// per AWS IoT operation (`/create-job`, `/describe-job`, ...). Errors answer 400 with
// `{"error":{"code","message"}}`, the code being the AWS exception name.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import { CodedError, messageOf } from '../common/errors.ts';

export type Operation = (input: Record<string, unknown>) => Promise<unknown>;

export interface ControlServer { port: number; close(): Promise<void> }

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const raw of req) {
    const chunk = raw as Buffer;
    size += chunk.length;
    if (size > 1_048_576) throw new CodedError('InvalidRequestException', 'request body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const value: unknown = text === '' ? {} : JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CodedError('InvalidRequestException', 'request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Serves `operations` on 127.0.0.1:`port` (0 = a free port). */
export async function startControlServer(operations: Record<string, Operation>, port = 0): Promise<ControlServer> {
  const server: Server = createServer((req, res) => {
    const name = (req.url ?? '/').replace(/^\//, '').split('?')[0] ?? '';
    const op = Object.hasOwn(operations, name) ? operations[name] : undefined;
    const reply = (status: number, value: unknown): void => {
      const text = JSON.stringify(value ?? {});
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== 'POST' || !op) {
      reply(404, { error: { code: 'UnknownOperationException', message: `no operation ${req.method ?? ''} /${name}` } });
      return;
    }
    body(req)
      .then((input) => op(input))
      .then((result) => reply(200, result ?? {}))
      .catch((err: unknown) => {
        const code: string = err instanceof CodedError ? (err as CodedError).code : err instanceof SyntaxError ? 'InvalidRequestException' : 'InternalFailureException';
        reply(code === 'InternalFailureException' ? 500 : 400, { error: { code, message: messageOf(err) } });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Calls one operation of a running emulator's control API; AWS-named errors become CodedErrors. */
export async function callControl(port: number, operation: string, input: Record<string, unknown> = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`http://127.0.0.1:${port}/${operation}`, { method: 'POST', body: JSON.stringify(input), headers: { 'Content-Type': 'application/json' } });
  } catch (err) {
    throw new CodedError('EMULATOR_NOT_RUNNING', `no emulator answers on 127.0.0.1:${port} (start it with \`twinslot emulator start\`)`, {}, { cause: err });
  }
  const value = (await response.json()) as { error?: { code?: string; message?: string } };
  if (!response.ok) throw new CodedError(value.error?.code ?? 'InternalFailureException', value.error?.message ?? `HTTP ${response.status}`);
  return value;
}
