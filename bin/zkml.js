#!/usr/bin/env node
// The zkml CLI. zkml is written in TypeScript and runs through tsx (a dependency), so the same entry point works
// from a checkout (`npx zkml`) and from a global install (`zkml`) without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
