import { run } from '/work/main/src/run.ts';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as b from '/work/main/fixtures/onnx-builder.ts';
const d = readdirSync(tmpdir()).filter((f) => f.startsWith('zkml-ops-ml')).map((f) => join(tmpdir(), f));
for (const m of ['boosted', 'forest', 'logreg-none', 'multiclass']) {
  const path = d.map((x) => join(x, m + '.onnx')).find((p) => { try { return readdirSync(p.replace(/\/[^/]+$/, '')).includes(m + '.onnx'); } catch { return false; } });
  if (!path) { console.log('no', m); continue; }
  const rand = b.mulberry32(m === 'boosted' ? 11 : m === 'forest' ? 12 : 14);
  const F = m === 'boosted' || m === 'forest' ? 3 : 2;
  const labels = [];
  for (let i = 0; i < 12; i++) { const x = Array.from({ length: F }, () => Math.round((rand() * 4 - 2) * 64) / 64); labels.push((await run(path, { x }, { inputRange: [-2, 2] }))[0].float[0]); }
  console.log(m, labels.join(','));
}
