/**
 * fast-check generators for whole-model mutation testing (src/audit/mutate.ts), shared by test/mutation.test.ts
 * and scripts/mutation-long.ts, plus the small models built for it.
 */
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { byClass, type Tamper, type WitnessSignal } from '../../src/audit/mutate.ts';
import { FIELD_P } from '../../src/io/output.ts';
import * as b from '../../fixtures/onnx-builder.ts';

/** The seed every mutation run starts from, so a failure reproduces exactly. */
export const MUTATION_SEED = 7_2025;

/** A signal, every class equally likely (bits outnumber outputs a hundred to one). */
export function signalArb(signals: WitnessSignal[]): fc.Arbitrary<WitnessSignal> {
  return fc.oneof(...[...byClass(signals).values()].map((group) => fc.constantFrom(...group)));
}

/** Flip one of the 254 bits, add ±1 or a small delta, or replace with any field element. */
export const tamperArb: fc.Arbitrary<Tamper> = fc.oneof(
  fc.integer({ min: 0, max: 253 }).map((bit): Tamper => ({ kind: 'flip-bit', bit })),
  fc.constantFrom(1n, -1n).map((delta): Tamper => ({ kind: 'add', delta })),
  fc.bigInt({ min: -(1n << 20n), max: 1n << 20n }).map((delta): Tamper => ({ kind: 'add', delta })),
  fc.bigInt({ min: 0n, max: FIELD_P - 1n }).map((value): Tamper => ({ kind: 'random', value })),
);

/**
 * y = Relu(Relu(x·W1) ⊙ (x·W2)): a Mul of two computed tensors, so the circuit has product gadgets (no fixture
 * does); the Relu after it keeps the products as witness entries (feeding an output directly, --O2 would
 * merge each into its output). Deterministic weights, written to `dir`; returns the model path and an input.
 */
export function writeProductModel(dir: string): { model: string; input: unknown } {
  const rand = b.mulberry32(11);
  const w = (name: string) => b.floatTensor(name, [4, 3], Array.from({ length: 12 }, () => rand() * 2 - 1));
  const m = b.model({
    name: 'product',
    nodes: [
      b.node('MatMul', ['x', 'W1'], ['h1'], { name: 'mm1' }),
      b.node('Relu', ['h1'], ['r1'], { name: 'relu' }),
      b.node('MatMul', ['x', 'W2'], ['h2'], { name: 'mm2' }),
      b.node('Mul', ['r1', 'h2'], ['p'], { name: 'mul' }),
      b.node('Relu', ['p'], ['y'], { name: 'relu_out' }),
    ],
    inputs: [b.valueInfo('x', [1, 4])],
    outputs: [b.valueInfo('y', [1, 3])],
    initializers: [w('W1'), w('W2')],
  });
  const model = join(dir, 'product.onnx');
  writeFileSync(model, b.serialize(m));
  return { model, input: { input_data: [[0.5, -0.25, 0.75, -1]] } };
}
