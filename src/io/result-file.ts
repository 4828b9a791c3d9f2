import { existsSync, readFileSync } from 'node:fs';
import { ZkmlError } from '../util/errors.ts';

/** Reads a JSON file of a `zkml prove` result (proof.json, public.json), with clear errors for a missing or damaged file. */
export function readResultJson(path: string): unknown {
  if (!existsSync(path)) throw new ZkmlError('missing: expected the output of zkml prove', 'E_PROOF_FORMAT', path);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ZkmlError(`not valid JSON (${(err as Error).message})`, 'E_PROOF_FORMAT', path);
  }
}
