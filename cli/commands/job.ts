// `twinslot job <operation>`: the AWS IoT job commands against the running emulator, with the
// AWS CLI's flag and output field names (`aws iot create-job --job-id ... --document file://...`).

import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command, CliIo } from '../command.ts';
import { CodedError } from '../../common/errors.ts';
import { readInfo } from '../../emulator/cli/daemon.ts';
import { callControl } from '../../emulator/control-api.ts';

const HELP = `Usage: twinslot job <operation> [options]   (against \`twinslot emulator\`; output is JSON)

  create --job-id ID --targets a,b --document file://doc.json|JSON [--description S]
         [--timeout-config JSON] [--job-executions-rollout-config JSON] [--abort-config JSON]
         [--job-executions-retry-config JSON] [--presigned-url-config JSON]
  describe --job-id ID                       get-document --job-id ID
  list [--status S]                          list-executions --job-id ID [--status S]
  describe-execution --job-id ID --thing-name T [--execution-number N]
  cancel --job-id ID [--force] [--comment S] [--reason-code S]
  cancel-execution --job-id ID --thing-name T [--force] [--expected-version N] [--status-details JSON]
  delete --job-id ID [--force]
  associate-targets --job-id ID --targets a,b     remove-targets --job-id ID --targets a,b

Targets are thing names or thing ARNs (arn:aws:iot:<region>:<account>:thing/<name>).
JSON arguments may be inline or file://PATH. Options: --dir DIR (the emulator's), --json, --help.
`;

const S = { type: 'string' } as const;
const OPTIONS = {
  'job-id': S, targets: { type: 'string', multiple: true }, document: S, description: S, 'timeout-config': S,
  'job-executions-rollout-config': S, 'abort-config': S, 'job-executions-retry-config': S, 'presigned-url-config': S,
  status: S, 'thing-name': S, 'execution-number': S, force: { type: 'boolean' }, comment: S, 'reason-code': S,
  'expected-version': S, 'status-details': S, dir: S, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

// Operation name → [control route, AWS CLI alias].
const ROUTES: Record<string, string> = {
  create: 'create-job', 'create-job': 'create-job', describe: 'describe-job', 'describe-job': 'describe-job',
  'get-document': 'get-job-document', 'get-job-document': 'get-job-document', list: 'list-jobs', 'list-jobs': 'list-jobs',
  'list-executions': 'list-job-executions-for-job', 'list-job-executions-for-job': 'list-job-executions-for-job',
  'describe-execution': 'describe-job-execution', 'describe-job-execution': 'describe-job-execution',
  cancel: 'cancel-job', 'cancel-job': 'cancel-job', 'cancel-execution': 'cancel-job-execution', 'cancel-job-execution': 'cancel-job-execution',
  delete: 'delete-job', 'delete-job': 'delete-job', 'associate-targets': 'associate-targets-with-job',
  'associate-targets-with-job': 'associate-targets-with-job', 'remove-targets': 'remove-targets',
};

async function text(value: string, io: CliIo): Promise<string> {
  return value.startsWith('file://') ? readFile(resolve(io.cwd, value.slice('file://'.length)), 'utf8') : value;
}

async function json(value: string | undefined, flag: string, io: CliIo): Promise<unknown> {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(await text(value, io));
  } catch {
    throw new CodedError('USAGE', `--${flag} must be JSON (inline or file://PATH)`);
  }
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new CodedError('USAGE', `--${flag} must be an integer`);
  return Number(value);
}

async function inputOf(v: Values, io: CliIo): Promise<Record<string, unknown>> {
  const input: Record<string, unknown> = {
    jobId: v['job-id'], targets: v.targets?.flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== ''),
    document: v.document === undefined ? undefined : await text(v.document, io), description: v.description,
    timeoutConfig: await json(v['timeout-config'], 'timeout-config', io),
    jobExecutionsRolloutConfig: await json(v['job-executions-rollout-config'], 'job-executions-rollout-config', io),
    abortConfig: await json(v['abort-config'], 'abort-config', io),
    jobExecutionsRetryConfig: await json(v['job-executions-retry-config'], 'job-executions-retry-config', io),
    presignedUrlConfig: await json(v['presigned-url-config'], 'presigned-url-config', io),
    status: v.status, thingName: v['thing-name'], executionNumber: integer(v['execution-number'], 'execution-number'),
    force: v.force, comment: v.comment, reasonCode: v['reason-code'], expectedVersion: integer(v['expected-version'], 'expected-version'),
    statusDetails: await json(v['status-details'], 'status-details', io),
  };
  return Object.fromEntries(Object.entries(input).filter(([, x]) => x !== undefined));
}

/** The `job` command. */
const command: Command = {
  summary: 'create, describe, list, cancel and delete jobs of the emulator (AWS CLI flags and output)',
  async run(argv, io) {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    const route = positionals[0] === undefined ? undefined : ROUTES[positionals[0]];
    if (values.help || !route) {
      (values.help ? io.stdout : io.stderr).write(HELP);
      return values.help ? 0 : 2;
    }
    const dir = resolve(io.cwd, values.dir ?? io.env['TWINSLOT_EMULATOR_DIR'] ?? join(io.env['HOME'] ?? homedir(), '.twinslot', 'emulator'));
    const info = await readInfo(dir);
    if (!info) throw new CodedError('EMULATOR_NOT_RUNNING', `no emulator runs for ${dir}; start it with \`twinslot emulator start\``);
    try {
      const result = await callControl(info.controlPort, route, await inputOf(values, io));
      // Like the AWS CLI: operations without output print nothing.
      if (result && typeof result === 'object' && Object.keys(result).length > 0) io.stdout.write(`${JSON.stringify(result, null, 4)}\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof CodedError) || err.code === 'EMULATOR_NOT_RUNNING') throw err;
      const op = route.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
      io.stderr.write(`\nAn error occurred (${err.code}) when calling the ${op} operation: ${err.message}\n`);
      return 254;
    }
  },
};
export default command;
