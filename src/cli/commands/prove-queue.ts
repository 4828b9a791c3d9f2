/** `zkml prove --inputs … --queue URL [--detach]`: the CLI side of src/fleet/submit.ts (kept out of prove.ts). */
import { submitBatch } from '../../fleet/submit.ts';
import { ERRORS_FILE } from '../../prove/batch.ts';
import { createProgress } from '../progress.ts';
import type { Reporter } from '../output.ts';

export async function proveQueued(dir: string, o: { inputs: string; queue: string; out: string; raw?: boolean; detach?: boolean }, r: Reporter): Promise<void> {
  const progress = createProgress(r);
  const s = await submitBatch(dir, o.inputs, {
    queue: o.queue,
    out: o.out,
    raw: o.raw,
    detach: o.detach,
    onProgress: (e) => {
      if (e.kind === 'start') progress.start(e.total);
      else progress.update(e.done, e.id, { status: e.status, error: e.error, witnessMs: e.witnessMs, proveMs: e.proveMs });
    },
  }).finally(() => progress.stop());
  for (const w of s.warnings) r.warn(w);
  const { errors: _errors, warnings: _warnings, ...fields } = s;
  if (s.detached) {
    r.event('batch', fields, `${s.batchId}\n(${s.enqueued} jobs enqueued; \`zkml status --queue ${o.queue} ${s.batchId}\` to follow, rerun without --detach to collect the results)`);
    return;
  }
  for (const e of s.errors) r.info(`failed: ${e.id}: ${e.error}`);
  r.event(
    'batch',
    fields,
    `batch ${s.batchId}: ${s.proven} proven, ${s.skipped} already done, ${s.failed} failed${s.failed ? ` (see ${o.out}/${ERRORS_FILE})` : ''} of ${s.total} in ${(s.elapsedMs / 1000).toFixed(1)} s`,
  );
  if (s.failed > 0) process.exitCode = 1;
}
