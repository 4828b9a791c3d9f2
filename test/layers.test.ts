/**
 * The layers of src/ import one way (src/README.md): every relative import in src/ (and prover/, the worker side
 * of prove) points to its own module or to a module of a lower layer, never up nor sideways to a peer, and
 * never out of the shipped tree (dev/, scripts/, test/, fixtures/). A new upward import fails here with the file
 * and the line, so the compiler's house stays readable from the bottom up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

/**
 * Lowest first. A module is a folder of src/ (or a file directly in it); modules of one layer are peers and do
 * not import each other. Keep in step with src/README.md.
 */
const LAYERS: string[][] = [
  ['util', 'types'],
  ['version.ts'],
  ['manifest.ts'],
  ['io'],
  ['commit'],
  ['onnx'],
  ['ir'],
  ['gadgets'],
  ['circuit', 'circom'],
  ['quantize'],
  ['ops'],
  ['compiler'],
  ['setup'],
  ['prove'],
  ['run.ts', 'calibrate', 'ptq', 'audit', 'chain', 'fleet'],
  ['serve', 'client'],
  ['cli'],
  ['index.ts'],
];

const layerOf = new Map(LAYERS.flatMap((mods, i) => mods.map((m) => [m, i] as const)));

/** The module of a file: its first folder under src/ (prover/ belongs to prove), or the file itself. */
function moduleOf(file: string): string | undefined {
  const rel = relative(ROOT, file).split('/');
  if (rel[0] === 'prover') return 'prove';
  if (rel[0] !== 'src') return undefined;
  return rel[1];
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|js|mjs)$/.test(e.name) ? [p] : [];
  });
}

/** Relative specifiers of static imports, re-exports and dynamic imports, with their line numbers. */
function relativeImports(text: string): { spec: string; line: number }[] {
  const found: { spec: string; line: number }[] = [];
  const patterns = [
    /(?:^|\n)[ \t]*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|\n)[ \t]*import\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      if (!m[1].startsWith('.')) continue;
      const at = m.index! + m[0].indexOf(m[1]);
      found.push({ spec: m[1], line: text.slice(0, at).split('\n').length });
    }
  }
  return found;
}

function violations(): string[] {
  const files = [...sources(SRC), ...sources(join(ROOT, 'prover'))];
  const out: string[] = [];
  for (const file of files) {
    const from = moduleOf(file)!;
    const fromLayer = layerOf.get(from);
    const where = relative(ROOT, file);
    if (fromLayer === undefined) {
      out.push(`${where}: module "${from}" is in no layer (add it to LAYERS and src/README.md)`);
      continue;
    }
    for (const { spec, line } of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      const to = moduleOf(target);
      if (to === undefined) {
        out.push(`${where}:${line}: imports ${spec}, outside the shipped tree`);
        continue;
      }
      if (to === from) continue;
      const toLayer = layerOf.get(to);
      if (toLayer === undefined) out.push(`${where}:${line}: imports ${spec}, module "${to}" is in no layer`);
      else if (toLayer > fromLayer) out.push(`${where}:${line}: ${from} (layer ${fromLayer}) imports ${spec}, up to ${to} (layer ${toLayer})`);
      else if (toLayer === fromLayer) out.push(`${where}:${line}: ${from} imports ${spec}, its peer ${to} in layer ${fromLayer}`);
    }
  }
  return out;
}

test('every import in src/ points down the declared layers', () => {
  assert.deepEqual(violations(), []);
});

test('the import scanner sees static, multi-line, re-export and dynamic imports', () => {
  const text = "import { a } from './a.ts';\nimport {\n  b,\n  c,\n} from '../b/c.ts';\nexport { d } from '../d.ts';\nconst e = await import('../e/e.ts');\nimport x from 'pkg';\n";
  assert.deepEqual(relativeImports(text).map((i) => [i.spec, i.line]).sort(), [['../b/c.ts', 5], ['../d.ts', 6], ['../e/e.ts', 7], ['./a.ts', 1]]);
});

test('src/README.md lists the layers the test enforces', () => {
  const readme = readFileSync(join(SRC, 'README.md'), 'utf8');
  // Each numbered line names its modules before the first ": ", e.g. "3. `io/`: input, output...".
  const listed = [...readme.matchAll(/^\d+\.\s+(.+)$/gm)].map((m) => [...m[1].split(': ')[0].matchAll(/`([^`]+)`/g)].map((n) => n[1].replace(/\/$/, '')));
  assert.deepEqual(listed, LAYERS);
});
