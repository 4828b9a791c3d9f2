import { compileAndCheck } from '/work/main/test/helpers/models.ts';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const d = readdirSync(tmpdir()).filter((f) => f.startsWith('zkml-ops-select')).map((f) => join(tmpdir(), f)).find((x) => readdirSync(x).includes('embedding.onnx'))!;
const r = await compileAndCheck(join(d, 'embedding.onnx'), { ids: [[0, 7, 1, 2]] }, { inputRange: [-2, 2] }).catch((e) => e);
console.log(r instanceof Error ? 'error: ' + r.message : { violated: r.check.violated.slice(0, 3), constraints: r.manifest.constraints });
const ok = await compileAndCheck(join(d, 'embedding.onnx'), { ids: [[0, 1, 1, 2]] }, { inputRange: [-2, 2] });
console.log(ok.manifest.constraints, ok.manifest.layers?.map((l: any) => `${l.node}:${l.constraints}`));
