// Compares the outputs decoded by `zkml verify --json` (from the verified public signals, never from files the
// prover wrote) with committed expectations: exact integers and the predicted class, per input id.
import { readFileSync } from 'node:fs';

const [verifyLog, expectedFile] = process.argv.slice(2);
const events = readFileSync(verifyLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const expected = JSON.parse(readFileSync(expectedFile, 'utf8'));
let failures = 0;
for (const [id, want] of Object.entries(expected)) {
  const got = events.find((e) => e.event === 'verified' && e.id === id);
  const out = got?.outputs?.outputs?.[0];
  const problem = !got ? 'no verified proof' : !got.valid ? `invalid proof: ${got.reason}` : out.argmax !== want.class ? `class ${out.argmax}, expected ${want.class}` : JSON.stringify(out.ints) !== JSON.stringify(want.ints) ? `outputs ${out.ints} differ from ${want.ints}` : undefined;
  console.log(`${id}: ${problem ?? 'ok'}`);
  if (problem) failures++;
}
const summary = events.find((e) => e.event === 'verify');
if (!summary?.valid) failures++;
console.log(failures ? `${failures} problem(s)` : 'all outputs proven as expected');
process.exit(failures ? 1 : 0);
