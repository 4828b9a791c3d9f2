/** The example CI job (examples/ci) runs as documented: it passes on the committed expectations, and fails when an output changes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/models.ts';
import { ZKML } from './helpers/cli.ts';
import { TEST_CACHE } from './helpers/cache.ts';

const root = join(import.meta.dirname, '..');
const env = { ...process.env, ZKML: `${process.execPath} ${ZKML}`, ZKML_CACHE: TEST_CACHE };

test('examples/ci: proves the inputs, verifies, matches expectations; a changed expectation fails the job', () => {
  const work = tempDir('ci');
  const ok = spawnSync('bash', [join(root, 'examples/ci/prove-and-check.sh'), work], { encoding: 'utf8', env });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /all outputs proven as expected/);

  const expected = JSON.parse(readFileSync(join(root, 'examples/ci/expected.json'), 'utf8'));
  expected['sample-2'].ints[0] = '0';
  const changed = join(work, 'expected.json');
  writeFileSync(changed, JSON.stringify(expected));
  const bad = spawnSync(process.execPath, [join(root, 'examples/ci/check-outputs.mjs'), join(work, 'verify.jsonl'), changed], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /sample-2: outputs .* differ/);
});
