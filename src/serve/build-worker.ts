/**
 * A model's build (compile, setup, Solidity verifier) in a worker thread of its own (src/serve/jobs.ts), so the
 * server's event loop keeps answering while circom-sized work runs. Errors travel as data, their ZkmlError code
 * with them, as the prover pool's do.
 */
import { compile, type CompileOptions } from '../compiler/compile.ts';
import { setup } from '../setup/setup.ts';
import { exportVerifier } from '../chain/solidity.ts';
import { releaseCurve } from '../util/snark.ts';
import { ZkmlError } from '../util/errors.ts';

export interface BuildTask {
  model: string;
  out: string;
  options: CompileOptions;
  ptau?: string;
}

export type BuildOutcome = { ok: true } | { ok: false; message: string; code: string };

export default async function runBuild(task: BuildTask): Promise<BuildOutcome> {
  try {
    await compile(task.model, task.out, task.options);
    await setup(task.out, task.ptau ? { ptau: task.ptau } : {});
    await exportVerifier(task.out);
    return { ok: true };
  } catch (err) {
    return { ok: false, message: (err as Error).message, code: err instanceof ZkmlError ? err.code : 'E_BUILD' };
  } finally {
    await releaseCurve();
  }
}
