import { readResultJson } from '../io/result-file.ts';
import { join } from 'node:path';
import { Interface } from 'ethers';
import { FIELD_P } from '../io/output.ts';
import { RESULT_FILES } from '../prove/prove.ts';
import { ZkmlError } from '../util/errors.ts';

/** BN254 base field order: proof coordinates live here (public signals live in the scalar field FIELD_P). */
export const BASE_FIELD_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

/** proof.json as snarkjs writes it: projective coordinates with z = 1, as decimal strings. */
export interface Groth16ProofJson {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol?: string;
  curve?: string;
}

/** The arguments of a snarkjs verifier's `verifyProof`, in the order and layout the EVM precompiles expect. */
export interface VerifyProofArgs {
  a: [bigint, bigint];
  b: [[bigint, bigint], [bigint, bigint]];
  c: [bigint, bigint];
  input: bigint[];
}

/** The function snarkjs generates: its last parameter is a fixed-size array, so the selector depends on N. */
export function verifyProofSignature(numPublicSignals: number): string {
  return `verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[${numPublicSignals}])`;
}

export function verifierInterface(numPublicSignals: number): Interface {
  return new Interface([`function ${verifyProofSignature(numPublicSignals)} view returns (bool)`]);
}

function fieldValue(v: unknown, modulus: bigint, what: string, source: string): bigint {
  if (typeof v !== 'string' || !/^(\d+|0x[0-9a-fA-F]+)$/.test(v)) {
    throw new ZkmlError(`${what} is ${JSON.stringify(v)}: expected a decimal string as snarkjs writes it`, 'E_PROOF_FORMAT', source);
  }
  const x = BigInt(v);
  if (x >= modulus) throw new ZkmlError(`${what} = ${v} is not reduced modulo the field order`, 'E_PROOF_FORMAT', source);
  return x;
}

function pair(v: unknown, what: string, source: string): unknown[] {
  if (!Array.isArray(v) || v.length < 2) throw new ZkmlError(`${what} must be an array of coordinates`, 'E_PROOF_FORMAT', source);
  return v;
}

/**
 * Checks a parsed proof.json and public.json and turns them into verifyProof arguments.
 * G2 points: snarkjs writes each Fp2 coordinate as [c0, c1]; the pairing precompile (EIP-197) takes [c1, c0].
 * Only affine points (z = 1, what snarkjs writes) are accepted: nothing here normalizes projective ones.
 */
export function toVerifyProofArgs(proof: unknown, publicSignals: unknown, source = { proof: 'proof.json', public: 'public.json' }): VerifyProofArgs {
  if (proof === null || typeof proof !== 'object') throw new ZkmlError('expected a JSON object with pi_a, pi_b, pi_c', 'E_PROOF_FORMAT', source.proof);
  const p = proof as Partial<Groth16ProofJson>;
  if (p.protocol !== undefined && p.protocol !== 'groth16') throw new ZkmlError(`protocol is ${p.protocol}; zkml verifiers check groth16 proofs`, 'E_PROOF_FORMAT', source.proof);
  if (p.curve !== undefined && p.curve !== 'bn128') throw new ZkmlError(`curve is ${p.curve}; EVM verifiers need bn128`, 'E_PROOF_FORMAT', source.proof);

  const g1 = (name: 'pi_a' | 'pi_c'): [bigint, bigint] => {
    const pt = pair(p[name], name, source.proof);
    if (pt.length > 2 && pt[2] !== '1') throw new ZkmlError(`${name} is not in affine form (z = ${JSON.stringify(pt[2])})`, 'E_PROOF_FORMAT', source.proof);
    return [fieldValue(pt[0], BASE_FIELD_Q, `${name}[0]`, source.proof), fieldValue(pt[1], BASE_FIELD_Q, `${name}[1]`, source.proof)];
  };
  const b = pair(p.pi_b, 'pi_b', source.proof);
  if (b.length > 2 && JSON.stringify(b[2]) !== '["1","0"]') throw new ZkmlError(`pi_b is not in affine form (z = ${JSON.stringify(b[2])})`, 'E_PROOF_FORMAT', source.proof);
  const fp2 = (i: number): [bigint, bigint] => {
    const [c0, c1] = pair(b[i], `pi_b[${i}]`, source.proof);
    return [fieldValue(c1, BASE_FIELD_Q, `pi_b[${i}][1]`, source.proof), fieldValue(c0, BASE_FIELD_Q, `pi_b[${i}][0]`, source.proof)];
  };

  if (!Array.isArray(publicSignals) || publicSignals.length === 0) {
    throw new ZkmlError('expected a non-empty JSON array of public signals', 'E_PROOF_FORMAT', source.public);
  }
  return {
    a: g1('pi_a'),
    b: [fp2(0), fp2(1)],
    c: g1('pi_c'),
    input: publicSignals.map((s, i) => fieldValue(s, FIELD_P, `public signal ${i}`, source.public)),
  };
}


/** Reads `<out>/proof.json` and `<out>/public.json` (what zkml prove writes) into verifyProof arguments. */
export function readProofArgs(out: string): VerifyProofArgs {
  const source = { proof: join(out, RESULT_FILES.proof), public: join(out, RESULT_FILES.public) };
  return toVerifyProofArgs(readResultJson(source.proof), readResultJson(source.public), source);
}

/** Raw calldata (selector + ABI-encoded arguments) of verifyProof, for eth_call or a wallet. */
export function verifyProofCalldata(args: VerifyProofArgs): string {
  return verifierInterface(args.input.length).encodeFunctionData('verifyProof', [args.a, args.b, args.c, args.input]);
}
