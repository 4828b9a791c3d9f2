import { InvalidArgumentError, type Command } from 'commander';
import type { SetupInfo } from '../../manifest.ts';
import { beacon, contribute, insecureWarning, setup, type SetupProgress } from '../../setup/setup.ts';
import { createProgress } from '../progress.ts';
import { releaseCurve } from '../../util/snark.ts';
import { makeReporter, type Reporter } from '../output.ts';

/** `zkml setup`, and the phase-2 ceremony steps `zkml contribute` and `zkml beacon`, over src/setup/setup.ts. */
export function register(program: Command): void {
  program
    .command('setup <dir>')
    .description('Groth16 trusted setup of a compiled build: circuit.zkey and verification_key.json')
    .option('--ptau <file>', 'powers-of-tau ceremony file, prepared for phase 2 (default: an INSECURE cached development ptau)')
    .option('--contribute <name>', 'name of the phase-2 contribution (made with random entropy)')
    .option('--no-contribute', 'skip the phase-2 contribution (the setup is then insecure)')
    .option('--beacon <hash>', 'finish phase 2 with a beacon: public randomness, hex')
    .option('--beacon-iterations <n>', 'beacon: 2^n sha256 rounds (10..63)', integer, 10)
    .option('--verify', "check the zkey against the r1cs and the ptau with snarkjs' zkey verify")
    .option('--json', 'JSON lines on stdout')
    .action(async (dir: string, o: { ptau?: string; contribute?: boolean | string; beacon?: string; beaconIterations: number; verify?: boolean; json?: boolean }) => {
      const r = makeReporter(Boolean(o.json));
      await run(r, (onProgress) =>
        setup(dir, {
          ptau: o.ptau,
          contribute: o.contribute,
          beacon: o.beacon === undefined ? undefined : { hash: o.beacon, iterations: o.beaconIterations },
          verify: o.verify,
          onProgress,
        }),
      );
    });

  program
    .command('contribute <dir>')
    .description("add a phase-2 contribution (random entropy) to a build's zkey")
    .option('--name <name>', 'name recorded in the zkey')
    .option('--json', 'JSON lines on stdout')
    .action(async (dir: string, o: { name?: string; json?: boolean }) => {
      await run(makeReporter(Boolean(o.json)), (onProgress) => contribute(dir, o.name, onProgress));
    });

  program
    .command('beacon <dir>')
    .description("apply a beacon (public randomness, e.g. a future block hash) to a build's zkey to close phase 2")
    .requiredOption('--hash <hex>', 'beacon value, hex')
    .option('--iterations <n>', '2^n sha256 rounds (10..63)', integer, 10)
    .option('--json', 'JSON lines on stdout')
    .action(async (dir: string, o: { hash: string; iterations: number; json?: boolean }) => {
      await run(makeReporter(Boolean(o.json)), (onProgress) => beacon(dir, o.hash, o.iterations, onProgress));
    });
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

/** Runs one setup operation with progress lines, prints the result, warns loudly if insecure, lets the process exit. */
async function run(r: Reporter, op: (onProgress: SetupProgress) => Promise<SetupInfo>): Promise<void> {
  const bar = createProgress(r);
  let generating = false;
  const onProgress: SetupProgress = (step, data = {}) => {
    if (step === 'ptau-generate' || step === 'zkey-generate') {
      if (!generating) {
        if (step === 'ptau-generate') r.info(`generating the INSECURE development ptau of power ${data.power} (cached for later runs)`);
        bar.start(data.total as number);
        generating = true;
      }
      bar.update(data.done as number, step === 'ptau-generate' ? `points of ptau 2^${data.power}` : 'zkey points');
      return;
    }
    if (generating) bar.stop();
    generating = false;
    r.event(step, data, stepText(step, data));
  };
  try {
    const info = await op(onProgress);
    const warning = insecureWarning(info);
    if (warning) r.warn(warning);
    r.event(
      'setup',
      { ...info },
      [
        `setup ${info.insecure ? 'INSECURE' : 'done'}: circuit.zkey ${info.zkeySha256.slice(0, 16)}…, verification_key.json ${info.vkeySha256.slice(0, 16)}…`,
        info.method === 'dev-known-secret'
          ? `zkey: written from the known development secrets (ptau power ${info.ptau.power}, seed "${info.seed}")`
          : `ptau: ${info.ptau.source} file of power ${info.ptau.power} (${info.ptau.path})`,
        `phase 2: ${info.contributions.map((c) => `${c.kind} "${c.name}"`).join(', ') || 'no contribution'}`,
      ].join('\n'),
    );
  } finally {
    if (generating) bar.stop();
    await releaseCurve();
  }
}

function stepText(step: string, d: Record<string, unknown>): string | undefined {
  switch (step) {
    case 'ptau':
      return `ptau: ${d.source === 'dev' ? 'INSECURE development' : 'ceremony'} file of power ${d.power}${d.cached ? ' (cached)' : ''}: ${d.path}`;
    case 'zkey':
      return d.method === 'dev-known-secret' ? `INSECURE development zkey from known secrets (domain of ptau power ${d.power})` : 'phase 2: zkey new';
    case 'contribute':
      return `phase 2: contribution "${d.name}"`;
    case 'beacon':
      return `phase 2: beacon${d.hash ? ` ${d.hash}` : ''}`;
    case 'verify':
      return 'verifying the zkey against the r1cs and the ptau';
    default:
      return undefined; // 'vkey', 'done': the summary says it
  }
}
