/**
 * Time to generate the development ptau per power (no cache): `tsx scripts/bench-ptau.ts [from] [to]`
 * (default 10 16). Prints wall time, CPU time of the whole process (worker threads included: a loaded machine
 * stretches wall time, not CPU time) and file size.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDevPtau } from '../src/setup/dev-ptau.ts';

const [from, to] = [Number(process.argv[2] ?? 10), Number(process.argv[3] ?? 16)];
const dir = mkdtempSync(join(tmpdir(), 'zkml-bench-ptau-'));
console.log(`dev ptau generation, ${availableParallelism()} cores`);
console.log('power  wall s  cpu s   MB');
try {
  for (let power = from; power <= to; power++) {
    const file = join(dir, `dev-${power}.ptau`);
    const cpu = process.cpuUsage();
    const start = performance.now();
    await writeDevPtau(power, file);
    const wall = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const mb = statSync(file).size / 2 ** 20;
    console.log(`${String(power).padStart(5)} ${wall.toFixed(1).padStart(7)} ${((used.user + used.system) / 1e6).toFixed(1).padStart(6)} ${mb.toFixed(1).padStart(6)}`);
    rmSync(file);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
