// `npm run bench`: runs every benchmark in its own process, one after another (so they do not
// disturb each other), collects the JSON line each prints with --json, and prints one table with
// the machine it ran on. `--markdown FILE` also writes the table as Markdown (for the README).

import { spawn } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderTable } from '../common/table.ts';

const BENCHES = ['bundle-install', 'swap', 'outbox', 'update-e2e', 'fleet'];

type Json = Record<string, unknown>;

function runBench(script: string, args: string[]): Promise<{ ok: boolean; result: Json | undefined; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, '--json', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on('exit', (code) => {
      const lines = output.trim().split('\n').reverse();
      let result: Json | undefined;
      for (const line of lines) {
        try {
          const parsed: unknown = JSON.parse(line);
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
            result = parsed as Json;
            break;
          }
        } catch {
          // not the JSON line
        }
      }
      resolve({ ok: code === 0, result, output });
    });
  });
}

/** Flattens a result object into "key = value" rows. */
function flatten(prefix: string, value: unknown, rows: string[][]): void {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(prefix ? `${prefix}.${key}` : key, inner, rows);
    return;
  }
  rows.push([prefix, typeof value === 'number' ? String(Math.round(value * 1000) / 1000) : JSON.stringify(value)]);
}

function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${new Date().toISOString().slice(0, 10)}, ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { only: { type: 'string', multiple: true }, markdown: { type: 'string' }, quick: { type: 'boolean' } } });
  const selected = values.only ?? BENCHES;
  const sections: { bench: string; ok: boolean; rows: string[][] }[] = [];
  for (const bench of selected) {
    const script = join(import.meta.dirname, `${bench}.ts`);
    if (!existsSync(script)) {
      sections.push({ bench, ok: false, rows: [['status', 'not present']] });
      continue;
    }
    process.stdout.write(`\n== ${bench} ==\n`);
    const { ok, result } = await runBench(script, values.quick ? ['--quick'] : []);
    const rows: string[][] = [];
    if (result) flatten('', result, rows);
    else rows.push(['status', 'no JSON result']);
    sections.push({ bench, ok, rows });
  }
  const header = `twinslot benchmarks — ${machine()}`;
  const table = renderTable(['benchmark', 'metric', 'value'], sections.flatMap((s) => s.rows.map((r) => [s.bench, r[0] ?? '', r[1] ?? ''])));
  process.stdout.write(`\n${header}\n\n${table}`);
  if (values.markdown) {
    const md = [`Measured ${machine()}.`, '', '| benchmark | metric | value |', '|---|---|---|',
      ...sections.flatMap((s) => s.rows.map((r) => `| ${s.bench} | ${r[0] ?? ''} | ${r[1] ?? ''} |`))].join('\n');
    await writeFile(values.markdown, `${md}\n`);
  }
  return sections.every((s) => s.ok) ? 0 : 1;
}

process.exitCode = await main();
