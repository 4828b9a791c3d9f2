import { compileCircom } from './src/circom/compile.ts';
const t = Date.now();
const r = await compileCircom('/work/main/.tmpcc/t.circom', '/work/main/.tmpcc'); console.log(r.constraints, r.log, Date.now() - t);
