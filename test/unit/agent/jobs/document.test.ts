import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseJobDocument, MAX_DOCUMENT_BYTES } from '../../../../agent/jobs/document.ts';
import { CodedError } from '../../../../common/errors.ts';

const examples = join(import.meta.dirname, '../../../../jobs-documents/examples');
const files = readdirSync(examples).filter((f) => f.endsWith('.json'));

test('there is an example for every operation', () => {
  const ops = new Set(files.map((f) => parseJobDocument(JSON.parse(readFileSync(join(examples, f), 'utf8'))).operation));
  assert.deepEqual([...ops].sort(), ['install', 'reboot', 'report', 'restart-app', 'rollback']);
});

for (const file of files) {
  test(`example ${file} validates and stays under 32 KiB`, () => {
    assert.ok(statSync(join(examples, file)).size < MAX_DOCUMENT_BYTES);
    const doc = parseJobDocument(readFileSync(join(examples, file), 'utf8'));
    assert.ok(doc.operation.length > 0);
  });
}

test('install example is typed with defaults', () => {
  const doc = parseJobDocument(readFileSync(join(examples, 'install.json'), 'utf8'));
  assert.equal(doc.operation, 'install');
  if (doc.operation !== 'install') return;
  assert.equal(doc.version, '1.2.0');
  assert.equal(doc.allowDowngrade, false);
  assert.equal(doc.bundle.size, 4194304);
  assert.match(doc.bundle.url, /^\$\{aws:iot:s3-presigned-url:/);
});

const base = { twinslot: 1, operation: 'install', version: '1.0.0', bundle: { url: 'https://x/b.tar', sha256: 'a'.repeat(64), size: 10 } };
const cases: Array<[string, unknown, RegExp]> = [
  ['missing operation', { twinslot: 1 }, /#\/required/],
  ['unknown operation', { twinslot: 1, operation: 'format-disk' }, /#\/properties\/operation\/enum/],
  ['wrong format version', { twinslot: 2, operation: 'report' }, /#\/properties\/twinslot\/const/],
  ['bad sha256', { ...base, bundle: { ...base.bundle, sha256: 'xyz' } }, /#\/\$defs\/bundle\/properties\/sha256\/pattern/],
  ['bad version', { ...base, version: '1.0' }, /#\/\$defs\/semver\/pattern/],
  ['missing bundle', { twinslot: 1, operation: 'install', version: '1.0.0' }, /#\/allOf\/0\/then\/required/],
  ['ftp url', { ...base, bundle: { ...base.bundle, url: 'ftp://x/y' } }, /bundle\/properties\/url\/pattern/],
  ['unknown key', { twinslot: 1, operation: 'reboot', force: true }, /additionalProperties.*'force'|'force'.*additionalProperties/],
  ['not an object', 'nope', /not JSON|type/],
  // Whoever can create jobs must not choose what the device runs (a command probe ran as root).
  ['command probe', { ...base, health: { command: { argv: ['sh', '-c', 'id > /tmp/pwned'] } } }, /\/health .*additional properties 'command'/],
  ['too large', { twinslot: 1, operation: 'report', comment: 'x'.repeat(40_000) }, /32768 byte limit/],
];

for (const [name, doc, pattern] of cases) {
  test(`invalid document (${name}) fails with DOCUMENT_INVALID and the schema path`, () => {
    assert.throws(() => parseJobDocument(doc), (err: unknown) => {
      assert.ok(err instanceof CodedError);
      assert.equal(err.code, 'DOCUMENT_INVALID');
      assert.match(err.message, pattern);
      return true;
    });
  });
}
