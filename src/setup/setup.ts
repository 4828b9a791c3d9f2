/**
 * Groth16 trusted setup of a compiled build: circuit.zkey and verification_key.json, recorded in manifest.setup.
 *
 * With a ptau file given by path (a ceremony's, never downloaded), phase 2 is snarkjs' generic one: `zkey new`, then
 * by default one contribution with fresh random entropy, optionally a final beacon; `contribute` and `beacon` add
 * more to an existing setup (a multi-party phase 2 passes the zkey from one party to the next).
 *
 * Without one, the setup is the INSECURE development one (method 'dev-known-secret'): dev-zkey.ts writes the zkey
 * straight from the development ptau's public secrets and a public δ, seconds where the generic phase 2 takes
 * minutes, and byte for byte what snarkjs' `zkey new` over the dev ptau plus a beacon would make. No ptau file is
 * read, and no contribution is made unless one is named: with τ public it would cost time and add no security.
 *
 * A setup is secure only if the ptau has a contribution whose secret nobody knows (not a beacon) and phase 2 has
 * one too; otherwise whoever knows the secrets can forge proofs. `insecure` in the manifest records the verdict.
 *
 * Files appear together or not at all: every zkey is written in a staging folder and moved into the build only
 * when complete, and the manifest is written last. snarkjs keeps its multi-threaded curve alive afterwards:
 * callers that want their process to exit call `releaseCurve()` (src/util/snark.ts), as the CLI does.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildPaths, readManifest, writeManifest, type Manifest, type SetupInfo } from '../manifest.ts';
import { commitStaging, stagingDir } from '../util/atomic.ts';
import { ZkmlError } from '../util/errors.ts';
import { sha256File } from '../util/hash.ts';
import { loadSnarkjs } from '../util/snark.ts';
import { devPtau, devPtauPath, isDevPtau, DEV_PTAU_SEED } from './dev-ptau.ts';
import { DEV_ZKEY_BEACON_NAME, DEV_ZKEY_SEED, writeDevZkey } from './dev-zkey.ts';
import { checkPtauFits, domainPower, isPublicSecret, ptauPowerFor, readPtauInfo } from './ptau.ts';

export type SetupProgress = (step: string, data?: Record<string, unknown>) => void;

export interface SetupOptions {
  /** A ceremony ptau file prepared for phase 2. Default: the INSECURE development setup from known secrets. */
  ptau?: string;
  /**
   * Phase-2 contribution with random entropy; a string names it. Default: one with a ptau file, none for the
   * development setup (only a named one is made there).
   */
  contribute?: boolean | string;
  /** A final beacon: public randomness (hex hash, 2^iterations sha256 rounds, 10..63). */
  beacon?: { hash: string; iterations: number };
  /**
   * Check the zkey against the r1cs and the ptau with snarkjs (seconds to minutes; the development setup makes
   * the dev ptau for it if not cached).
   */
  verify?: boolean;
  onProgress?: SetupProgress;
}

const DEFAULT_CONTRIBUTION_NAME = 'zkml setup';
const BEACON_NAME = 'zkml beacon';

export async function setup(dir: string, opts: SetupOptions = {}): Promise<SetupInfo> {
  const progress: SetupProgress = opts.onProgress ?? (() => {});
  const manifest = readManifest(dir);
  const paths = buildPaths(dir);
  checkR1cs(manifest, paths.r1cs);
  if (opts.beacon) checkBeacon(opts.beacon.hash, opts.beacon.iterations);
  const [constraints, nPublic] = [manifest.constraints, manifest.publicSignals.length];
  const snarkjs = await loadSnarkjs();
  const staging = stagingDir(dir);
  try {
    const contributions: SetupInfo['contributions'] = [];
    let zkey = join(staging, 'new.zkey');
    let ptau: SetupInfo['ptau'];
    let made: Pick<SetupInfo, 'method' | 'seed'>;
    let contribution: string | undefined;
    if (opts.ptau) {
      ptau = await resolvePtau(opts.ptau, domainPower(constraints, nPublic), progress);
      made = { method: 'snarkjs' };
      progress('zkey', { r1cs: paths.r1cs, ptau: ptau.path, method: made.method });
      await snark('zkey new', (log) => snarkjs.zKey.newZKey(paths.r1cs, ptau.path, zkey, log));
      if (opts.contribute !== false) contribution = typeof opts.contribute === 'string' ? opts.contribute : DEFAULT_CONTRIBUTION_NAME;
    } else {
      const power = ptauPowerFor(constraints, nPublic);
      ptau = { path: devPtauPath(power), power, insecure: true, source: 'dev' };
      made = { method: 'dev-known-secret', seed: DEV_ZKEY_SEED };
      progress('zkey', { r1cs: paths.r1cs, power, method: made.method });
      await writeDevZkey(paths.r1cs, power, zkey, percentProgress(progress, 'zkey-generate', { power }));
      contributions.push({ name: DEV_ZKEY_BEACON_NAME, kind: 'beacon' });
      if (typeof opts.contribute === 'string') contribution = opts.contribute;
    }
    const step = async (kind: 'contribution' | 'beacon', name: string, run: (from: string, to: string) => Promise<void>) => {
      const next = join(staging, `${contributions.length + 1}.zkey`);
      await run(zkey, next);
      rmSync(zkey);
      zkey = next;
      contributions.push({ name, kind });
    };
    if (contribution !== undefined) {
      const name = contribution;
      progress('contribute', { name });
      await step('contribution', name, (from, to) => snark('zkey contribute', (log) => snarkjs.zKey.contribute(from, to, name, entropy(), log)));
    }
    if (opts.beacon) {
      const { hash, iterations } = opts.beacon;
      progress('beacon', { hash, iterations });
      await step('beacon', BEACON_NAME, (from, to) => snark('zkey beacon', (log) => snarkjs.zKey.beacon(from, to, BEACON_NAME, hash, iterations, log)));
    }
    if (opts.verify) {
      const file = opts.ptau ? ptau.path : await devPtau(ptau.power, devProgress(progress));
      progress('verify', { ptau: file });
      await verifyZkey(paths.r1cs, file, zkey);
    }
    return await finish(dir, manifest, staging, zkey, { ptau, ...made, contributions, createdAt: new Date().toISOString() }, progress);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Adds a phase-2 contribution with random entropy to the build's existing zkey. */
export async function contribute(dir: string, name: string = DEFAULT_CONTRIBUTION_NAME, onProgress?: SetupProgress): Promise<SetupInfo> {
  const snarkjs = await loadSnarkjs();
  return extend(dir, { name, kind: 'contribution' }, { name }, onProgress, (from, to) =>
    snark('zkey contribute', (log) => snarkjs.zKey.contribute(from, to, name, entropy(), log)),
  );
}

/** Applies a beacon (public randomness) to the build's existing zkey, typically to close a phase-2 ceremony. */
export async function beacon(dir: string, hash: string, iterations: number, onProgress?: SetupProgress): Promise<SetupInfo> {
  checkBeacon(hash, iterations);
  const snarkjs = await loadSnarkjs();
  return extend(dir, { name: BEACON_NAME, kind: 'beacon' }, { hash, iterations }, onProgress, (from, to) =>
    snark('zkey beacon', (log) => snarkjs.zKey.beacon(from, to, BEACON_NAME, hash, iterations, log)),
  );
}

/**
 * Checks the build's zkey with snarkjs against its r1cs and the ptau recorded in the manifest (or `ptau`, e.g. on
 * another machine): resolves when valid, throws a ZkmlError saying why not. A missing dev ptau is made again
 * (it is deterministic); a missing ceremony file must be passed. A development setup from known secrets is
 * refused: it is no ceremony, and a passing check must not read as a blessing (test/dev-zkey.test.ts checks that
 * writer against snarkjs instead).
 */
export async function verifySetup(dir: string, ptau?: string, onProgress?: SetupProgress): Promise<void> {
  const manifest = readManifest(dir);
  const setup = requireSetup(manifest, dir);
  if (setup.method === 'dev-known-secret' || !setup.ptau.sha256) {
    throw new ZkmlError(
      `this setup was written from known secrets (method dev-known-secret, seed "${setup.seed ?? DEV_ZKEY_SEED}"): it is for development only, not a ceremony, and anyone can forge proofs for it. For a setup worth verifying run \`zkml setup <dir> --ptau <ceremony file>\``,
      'E_SETUP_NOT_CEREMONY',
      buildPaths(dir).zkey,
    );
  }
  const paths = buildPaths(dir);
  checkR1cs(manifest, paths.r1cs);
  await checkZkey(paths.zkey, setup);
  let file = ptau ?? setup.ptau.path;
  if (!existsSync(file) && !ptau && setup.ptau.source === 'dev') file = await devPtau(setup.ptau.power, devProgress(onProgress));
  if (!existsSync(file)) {
    throw new ZkmlError(`the ptau file used for this setup is not here: give its path (the file with sha256 ${setup.ptau.sha256})`, 'E_PTAU_MISSING', file);
  }
  const sha = await sha256Stream(file);
  if (sha !== setup.ptau.sha256) {
    throw new ZkmlError(`is not the ptau this setup used (sha256 ${sha}, expected ${setup.ptau.sha256})`, 'E_PTAU_MISMATCH', file);
  }
  onProgress?.('verify', { ptau: file });
  await verifyZkey(paths.r1cs, file, paths.zkey);
}

/** The loud message for an insecure setup, or undefined when the setup is not known to be insecure. */
export function insecureWarning(info: SetupInfo): string | undefined {
  if (!info.insecure) return undefined;
  const why = info.ptau.insecure
    ? info.method === 'dev-known-secret'
      ? `it was written from known secrets: the development ptau's, from the public seed "${DEV_PTAU_SEED}", and δ from "${info.seed ?? DEV_ZKEY_SEED}"`
      : info.ptau.source === 'dev'
      ? `it uses the development ptau, whose secret comes from the public seed "${DEV_PTAU_SEED}"`
      : 'its ptau has no contribution with a secret (only public beacons)'
    : 'phase 2 has no contribution with a secret (only public beacons, or none)';
  return `INSECURE SETUP: ${why}. Anyone can forge proofs for this circuit. Fine for development and tests; for real use run \`zkml setup <dir> --ptau <ceremony file>\` with a phase-2 contribution.`;
}

// ---- steps --------------------------------------------------------------------------------------------------

/** The given ptau file, if it fits the circuit. */
async function resolvePtau(given: string, needed: number, progress: SetupProgress): Promise<SetupInfo['ptau']> {
  const path = resolve(given);
  const info = readPtauInfo(path);
  checkPtauFits(info, needed);
  const ptau = { path, power: info.power, sha256: await sha256Stream(path), insecure: isPublicSecret(info), source: isDevPtau(info) ? ('dev' as const) : ('ceremony' as const) };
  progress('ptau', { ...ptau, cached: false });
  return ptau;
}

/** Dev ptau generation progress, at most one event per percent. */
function devProgress(progress?: SetupProgress) {
  return percentProgress(progress, 'ptau-generate', {});
}

/** Progress of a long step as `step` events of { ...data, done, total, percent }, at most one per percent. */
function percentProgress(progress: SetupProgress | undefined, step: string, data: Record<string, unknown>) {
  let last = -1;
  return (p: { done: number; total: number }) => {
    const percent = Math.floor((100 * p.done) / p.total);
    if (percent !== last) progress?.(step, { ...data, ...p, percent });
    last = percent;
  };
}

async function extend(
  dir: string,
  added: SetupInfo['contributions'][number],
  stepData: Record<string, unknown>,
  onProgress: SetupProgress | undefined,
  run: (from: string, to: string) => Promise<void>,
): Promise<SetupInfo> {
  const progress: SetupProgress = onProgress ?? (() => {});
  const manifest = readManifest(dir);
  const setup = requireSetup(manifest, dir);
  const paths = buildPaths(dir);
  await checkZkey(paths.zkey, setup);
  const staging = stagingDir(dir);
  try {
    const zkey = join(staging, 'next.zkey');
    progress(added.kind === 'beacon' ? 'beacon' : 'contribute', stepData);
    await run(paths.zkey, zkey);
    const made = { method: setup.method, seed: setup.seed };
    return await finish(dir, manifest, staging, zkey, { ptau: setup.ptau, ...made, contributions: [...setup.contributions, added], createdAt: setup.createdAt }, progress);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Exports the verification key, moves zkey and key into the build together, then records the setup. */
async function finish(
  dir: string,
  manifest: Manifest,
  staging: string,
  zkey: string,
  s: Pick<SetupInfo, 'ptau' | 'method' | 'seed' | 'contributions' | 'createdAt'>,
  progress: SetupProgress,
): Promise<SetupInfo> {
  const snarkjs = await loadSnarkjs();
  progress('vkey', {});
  const vkey = await snarkjs.zKey.exportVerificationKey(zkey);
  const staged = { zkey: join(staging, 'circuit.zkey'), vkey: join(staging, 'verification_key.json') };
  renameSync(zkey, staged.zkey);
  writeFileSync(staged.vkey, JSON.stringify(vkey, null, 1) + '\n');
  const info: SetupInfo = {
    ptau: s.ptau,
    ...(s.method && { method: s.method }),
    ...(s.seed && { seed: s.seed }),
    zkeySha256: await sha256Stream(staged.zkey),
    vkeySha256: sha256File(staged.vkey),
    contributions: s.contributions,
    insecure: s.ptau.insecure || !s.contributions.some((c) => c.kind === 'contribution'),
    createdAt: s.createdAt,
  };
  commitStaging(staging, dir);
  // The development setup is deterministic: setting it up again gives the same key, which deployments still check.
  const sameKey = manifest.setup?.vkeySha256 === info.vkeySha256;
  writeManifest(dir, { ...(sameKey ? manifest : retireDeployments(dir, manifest)), setup: info });
  progress('done', { zkey: buildPaths(dir).zkey, insecure: info.insecure });
  return info;
}

/**
 * A new verification key (not the same one again): every verifier deployed for the old one refuses this build's proofs from now on, and
 * the exported Verifier.sol/Verifier.json are of the old key. The deployments move to retiredDeployments (so
 * that `verify --onchain` can say why the old addresses no longer serve), the exported verifier is deleted.
 */
function retireDeployments(dir: string, manifest: Manifest): Manifest {
  const paths = buildPaths(dir);
  for (const f of [paths.verifierSol, paths.verifierArtifact]) rmSync(f, { force: true });
  const { deployments, ...rest } = manifest;
  if (!deployments) return rest;
  const retiredAt = new Date().toISOString();
  const retired = Object.fromEntries(Object.entries(deployments).map(([network, d]) => [network, { ...d, retiredAt }]));
  return { ...rest, retiredDeployments: { ...manifest.retiredDeployments, ...retired } };
}

async function verifyZkey(r1cs: string, ptau: string, zkey: string): Promise<void> {
  const snarkjs = await loadSnarkjs();
  await snark('zkey verify', (log) => snarkjs.zKey.verifyFromR1cs(r1cs, ptau, zkey, log), 'E_SETUP_INVALID');
}

// ---- checks and helpers -------------------------------------------------------------------------------------

function requireSetup(manifest: Manifest, dir: string): SetupInfo {
  if (!manifest.setup) throw new ZkmlError("this build has no setup yet: run 'zkml setup' first", 'E_NO_SETUP', dir);
  return manifest.setup;
}

function checkR1cs(manifest: Manifest, r1cs: string): void {
  if (!existsSync(r1cs)) throw new ZkmlError("missing: run 'zkml compile' again", 'E_NO_R1CS', r1cs);
  const sha = sha256File(r1cs);
  if (sha !== manifest.circuit.r1csSha256) {
    throw new ZkmlError(`changed since compile (sha256 ${sha}, manifest has ${manifest.circuit.r1csSha256}): run 'zkml compile' again`, 'E_R1CS_CHANGED', r1cs);
  }
}

async function checkZkey(zkey: string, setup: SetupInfo): Promise<void> {
  if (!existsSync(zkey)) throw new ZkmlError("missing: run 'zkml setup' again", 'E_NO_ZKEY', zkey);
  const sha = await sha256Stream(zkey);
  if (sha !== setup.zkeySha256) {
    throw new ZkmlError(`is not the zkey the manifest records (sha256 ${sha}, expected ${setup.zkeySha256}): run 'zkml setup' again`, 'E_ZKEY_CHANGED', zkey);
  }
}

function checkBeacon(hash: string, iterations: number): void {
  if (!/^([0-9a-fA-F]{2}){1,255}$/.test(hash)) {
    throw new ZkmlError(`beacon hash must be 1 to 255 bytes of hex (an even number of 0-9a-f digits), got "${hash}"`, 'E_BAD_BEACON');
  }
  if (!Number.isInteger(iterations) || iterations < 10 || iterations > 63) {
    throw new ZkmlError(`beacon iterations are a power of two: the exponent must be an integer from 10 to 63, got ${iterations}`, 'E_BAD_BEACON');
  }
}

/** Fresh entropy for a contribution (snarkjs mixes in its own random bytes too). */
const entropy = () => randomBytes(32).toString('hex');

type SnarkLogger = { debug(): void; info(): void; warn(m: string): void; error(m: string): void };

/**
 * Runs a snarkjs step whose failures come as a logged error plus a return value of -1 or false (or a thrown
 * Error): turns any of them into a ZkmlError that says what snarkjs said.
 */
async function snark<T>(what: string, run: (log: SnarkLogger) => Promise<T>, code = 'E_SETUP'): Promise<T> {
  const errors: string[] = [];
  const log: SnarkLogger = { debug() {}, info() {}, warn() {}, error: (m) => void errors.push(m) };
  let result: T;
  try {
    result = await run(log);
  } catch (err) {
    throw new ZkmlError(`snarkjs ${what} failed: ${[...errors, (err as Error).message].join('; ')}`, code);
  }
  if (errors.length || result === (-1 as T) || result === (false as T)) {
    throw new ZkmlError(`snarkjs ${what} failed: ${errors.join('; ') || 'no reason given'}`, code);
  }
  return result;
}

/** sha256 of a file read in chunks: ceremony ptau files reach gigabytes. */
async function sha256Stream(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  return h.digest('hex');
}
