import * as reg from '/work/main/src/ops/registry.ts';
