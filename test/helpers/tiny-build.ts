/**
 * A hand-written two-input circuit with a manifest, for testing setup, proving and chains independently of
 * the compiler. out0[i] = 3*in0[i] + 1 and out0[2] = in0[0]*in0[1]; three public signals. `products` adds a
 * chain of that many private products (one constraint each) for a circuit of a chosen size (benchmarks).
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { compileCircom } from '../../src/circom/compile.ts';
import { writeManifest, type Manifest, MANIFEST_FORMAT, buildPaths } from '../../src/manifest.ts';
import { sha256File } from '../../src/util/hash.ts';

const source = (products: number) => `pragma circom 2.1.0;
template Tiny() {
  signal input in0[2];
  signal output out0[3];
  out0[0] <== 3 * in0[0] + 1;
  out0[1] <== 3 * in0[1] + 1;
  out0[2] <== in0[0] * in0[1];
${products > 0 ? `  signal chain[${products}];
  chain[0] <== in0[0] * in0[1];
  for (var i = 1; i < ${products}; i++) chain[i] <== chain[i - 1] * in0[1];
` : ''}}
component main = Tiny();
`;

export async function makeTinyBuild(dir: string, products = 0): Promise<string> {
  const paths = buildPaths(dir);
  if (existsSync(paths.manifest)) return dir;
  mkdirSync(dir, { recursive: true });
  writeFileSync(paths.circom, source(products));
  const r = await compileCircom(paths.circom, dir);
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    zkmlVersion: '0.0.0-test',
    tools: {},
    createdAt: new Date().toISOString(),
    model: { path: 'tiny', sha256: '0'.repeat(64), opset: 0 },
    inputs: [{ name: 'x', signal: 'in0', shape: [1, 2], encoding: { scaleExp: 0, scale: 1, zeroPoint: 0 }, intRange: ['-100', '100'], visibility: 'private' }],
    outputs: [{ name: 'y', signal: 'out0', shape: [1, 3], encoding: { scaleExp: 0, scale: 1, zeroPoint: 0 }, intRange: ['-10000', '10000'], visibility: 'public' }],
    publicSignals: [0, 1, 2].map((index) => ({ kind: 'output' as const, tensor: 'y', index })),
    inputRangeChecked: false,
    constraints: r.constraints,
    layers: [],
    quantization: { scale: 0, inputScale: 0, weightBits: 8, inputRange: [-100, 100], checkInputs: false },
    visibility: { input: 'private', output: 'public', singleSignal: false },
    modelId: '1',
    commitments: { modelId: '1', single: false },
    circuit: { backend: 'circom', circom: 'circuit.circom', r1cs: 'circuit.r1cs', wasm: 'circuit_js/circuit.wasm', sym: 'circuit.sym', r1csSha256: sha256File(paths.r1cs), wasmSha256: sha256File(paths.wasm) },
  };
  writeManifest(dir, manifest);
  return dir;
}
