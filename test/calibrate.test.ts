/**
 * `zkml calibrate`: sample files in every accepted form, the measured input range, the choice rules of both
 * targets, the settings file and its use by `compile --settings` (explicit flags win), and the cost it
 * reports equal to what compile then builds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadSamples } from '../src/io/samples.ts';
import { measureRange } from '../src/calibrate/range.ts';
import { calibrate, choose, chosenQuant, type SettingResult } from '../src/calibrate/calibrate.ts';
import { readSettings, writeSettings } from '../src/calibrate/settings.ts';
import { addQuantOptions, quantFrom } from '../src/cli/quant-options.ts';
import { compile } from '../src/compiler/compile.ts';
import { readManifest } from '../src/manifest.ts';
import { mulberry32 } from '../fixtures/onnx-builder.ts';
import { tempDir } from './helpers/models.ts';
import { zkml } from './helpers/cli.ts';

const GEMM = join(import.meta.dirname, '..', 'fixtures', 'models', 'gemm_basic.onnx');

/** n deterministic gemm_basic inputs (16 values in [-1, 1]) as JSON lines. */
function gemmSamples(dir: string, n: number): string {
  const rand = mulberry32(7);
  const path = join(dir, 'samples.jsonl');
  const lines = Array.from({ length: n }, () => JSON.stringify({ input: Array.from({ length: 16 }, () => Math.round((2 * rand() - 1) * 1e4) / 1e4) }));
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

test('samples: JSON array, JSON lines, a folder, a single object; clear errors otherwise', () => {
  const dir = tempDir('samples');
  writeFileSync(join(dir, 'array.json'), JSON.stringify([[1, 2], { input_data: [[3, 4]] }]));
  writeFileSync(join(dir, 'lines.jsonl'), '{"x": [1, 2]}\n\n{"x": [3, 4]}\n');
  writeFileSync(join(dir, 'one.json'), '{"input_data": [[1, 2]]}');
  writeFileSync(join(dir, 'flat.json'), '[1, 2, 3]');
  writeFileSync(join(dir, 'bad.jsonl'), '{"x": [1]}\n{oops\n');
  mkdirSync(join(dir, 'folder'));
  for (const f of ['b.json', 'a.json']) writeFileSync(join(dir, 'folder', f), JSON.stringify({ f }));
  writeFileSync(join(dir, 'folder', 'notes.txt'), 'ignored');

  assert.deepEqual(loadSamples(join(dir, 'array.json')).map((s) => s.value), [[1, 2], { input_data: [[3, 4]] }]);
  const lines = loadSamples(join(dir, 'lines.jsonl'));
  assert.deepEqual(lines.map((s) => s.source), [`${join(dir, 'lines.jsonl')}:1`, `${join(dir, 'lines.jsonl')}:3`]);
  assert.equal(loadSamples(join(dir, 'lines.jsonl'), 1).length, 1);
  assert.deepEqual(loadSamples(join(dir, 'one.json')).map((s) => s.value), [{ input_data: [[1, 2]] }]);
  assert.deepEqual(loadSamples(join(dir, 'folder')).map((s) => s.value), [{ f: 'a.json' }, { f: 'b.json' }]);
  assert.throws(() => loadSamples(join(dir, 'flat.json')), /ambiguous/);
  assert.throws(() => loadSamples(join(dir, 'bad.jsonl')), (e: Error) => /bad\.jsonl:2/.test(e.message) && /not valid JSON/.test(e.message));
  assert.throws(() => loadSamples(join(dir, 'missing.json')), /no such file/);
});

test('input range: saturated bounds stay, tails get the margin, non-negative data stays non-negative', () => {
  // Pixels: 0 and 1 reached by several samples (saturation) → no margin.
  assert.deepEqual(measureRange([[0, 0.5, 1], [0, 1, 0.2]], 0.05).range, [0, 1]);
  // Continuous data: each extreme reached once → widened by 5% of the span (and rounded outward).
  const r = measureRange([[-0.8, 0.3], [0.1, 0.9123]], 0.05);
  assert.deepEqual(r.measured, [-0.8, 0.9123]);
  assert.deepEqual(r.saturated, { lo: false, hi: false });
  assert.ok(r.range[0] <= -0.8 - 0.05 * 1.7123 && r.range[0] > -0.9, `lo ${r.range[0]}`);
  assert.ok(r.range[1] >= 0.9123 + 0.05 * 1.7123 && r.range[1] < 1.0, `hi ${r.range[1]}`);
  // Non-negative data whose minimum is a tail: the margin stops at 0.
  assert.deepEqual(measureRange([[0.01, 3], [0.5, 2]], 0.05).range[0], 0);
});

test('choose: accuracy and resources targets', () => {
  const row = (scale: number, constraints: number, agreement: number, maxAbsError: number): SettingResult => ({ scale, inputScale: scale, weightBits: 8, constraints, agreement, maxAbsError, meanAbsError: maxAbsError / 2 });
  const rows = [row(4, 100, 0.98, 0.5), row(5, 200, 0.995, 0.2), row(6, 300, 1, 0.1), row(7, 400, 1, 0.04), row(8, 500, 1, 0.03), { scale: 9, inputScale: 9, weightBits: 8, error: 'overflow' }];
  // Accuracy: the error bound defaults to twice the best error among the most agreeing (2 × 0.03).
  const acc = choose(rows, 'accuracy', undefined, 0.99);
  assert.equal(acc.chosen.scale, 7);
  assert.equal(acc.errorBound, 0.06);
  // A looser explicit bound admits a cheaper setting at ≥ 99.5% agreement.
  assert.equal(choose(rows, 'accuracy', 0.25, 0.99).chosen.scale, 5);
  assert.throws(() => choose(rows, 'accuracy', 0.001, 0.99), /raise --max-error/);
  // Resources: the cheapest above the floor.
  assert.equal(choose(rows, 'resources', undefined, 0.99).chosen.scale, 5);
  assert.equal(choose(rows, 'resources', undefined, 0.9).chosen.scale, 4);
  assert.throws(() => choose(rows.slice(0, 1), 'resources', undefined, 0.99), /no setting reached 99\.00%.*best was 98\.00%/);
  assert.throws(() => choose([rows[5]], 'resources', undefined, 0.99), /could be compiled.*overflow/);
});

test('settings file: written atomically, validated on read, explicit flags override it', () => {
  const dir = tempDir('settings');
  const path = join(dir, 'settings.json');
  writeSettings(path, { scale: 6, inputScale: 6, weightBits: 7, inputRange: [0, 1], checkInputs: false }, { target: 'accuracy' });
  assert.deepEqual(readSettings(path), { scale: 6, inputScale: 6, weightBits: 7, inputRange: [0, 1], checkInputs: false });

  const parse = (args: string[]) => {
    const cmd = addQuantOptions(new Command('compile').exitOverride()).option('--no-check-inputs');
    cmd.parse(args, { from: 'user' });
    return quantFrom(cmd.opts(), cmd);
  };
  // The file as is: --no-check-inputs' default (true) does not override the file's false.
  assert.deepEqual(parse(['--settings', path]), { scale: 6, inputScale: 6, weightBits: 7, inputRange: [0, 1], checkInputs: false });
  // Explicit flags win; the file's input scale, derived from its scale, follows an explicit --scale.
  const over = parse(['--settings', path, '--weight-bits', '9', '--scale', '8']);
  assert.equal(over.weightBits, 9);
  assert.equal(over.scale, 8);
  assert.equal(over.inputScale, undefined);
  assert.equal(over.checkInputs, false);

  writeFileSync(path, JSON.stringify({ format: 'zkml-settings/1', quantization: { scale: 'eight' } }));
  assert.throws(() => readSettings(path), /quantization\.scale must be an integer/);
  writeFileSync(path, JSON.stringify({ scale: 8 }));
  assert.throws(() => readSettings(path), /not a zkml settings file/);
});

test('calibrate gemm_basic: the grid is explored and the chosen cost is what compile builds', async () => {
  const dir = tempDir('calibrate');
  const samples = loadSamples(gemmSamples(dir, 40));
  const seen: number[] = [];
  const c = await calibrate(GEMM, samples, { scales: [4, 8], weightBits: [5, 9], onSetting: (_row, i) => seen.push(i) });
  assert.deepEqual(seen, [1, 2, 3, 4]);
  assert.equal(c.rows.length, 4);
  assert.equal(c.range.source, 'measured');
  assert.ok(c.range.range[0] <= c.range.measured[0] && c.range.range[1] >= c.range.measured[1]);
  for (const r of c.rows) {
    assert.ok(r.agreement! >= 0 && r.agreement! <= 1);
    assert.ok(r.maxAbsError! >= 0);
  }
  // More fractional bits cost more (wider range checks and quotients) and err less.
  const at = (s: number, w: number) => c.rows.find((r) => r.scale === s && r.weightBits === w)!;
  assert.ok(at(8, 9).constraints! > at(4, 9).constraints!);
  assert.ok(at(8, 9).maxAbsError! < at(4, 5).maxAbsError!);
  // The choice follows the accuracy rule.
  assert.deepEqual(c.chosen, choose(c.rows, 'accuracy', undefined, 0.99).chosen);

  const manifest = await compile(GEMM, join(dir, 'build'), chosenQuant(c));
  assert.equal(manifest.constraints, c.chosen.constraints, 'calibrate reports the cost compile builds');
});

test('CLI: calibrate --json writes settings; compile --settings uses them, explicit flags override', () => {
  const dir = tempDir('calibrate-cli');
  const data = gemmSamples(dir, 20);
  const out = join(dir, 'settings.json');
  const r = zkml(['calibrate', GEMM, '--data', data, '--scale', '6,8', '--weight-bits', '8', '--target', 'resources', '--min-agreement', '0.5', '-o', out, '--json']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => e.event), ['range', 'setting', 'setting', 'chosen']);
  const chosen = events.at(-1);
  assert.equal(chosen.scale, 6, 'resources: the cheaper of two settings above the floor');
  const settings = readSettings(out);
  assert.equal(settings.scale, 6);
  assert.deepEqual(settings.inputRange, events[0].range);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).calibration.constraints, chosen.constraints);

  const build = join(dir, 'build');
  const c = zkml(['compile', GEMM, '--settings', out, '--weight-bits', '7', '-o', build, '--json']);
  assert.equal(c.status, 0, c.stderr + c.stdout);
  const q = readManifest(build).quantization;
  assert.equal(q.scale, 6);
  assert.equal(q.weightBits, 7);
  assert.deepEqual(q.inputRange, settings.inputRange);

  const bad = zkml(['calibrate', GEMM, '--data', join(dir, 'nope.jsonl')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /nope\.jsonl: no such file/);
});
