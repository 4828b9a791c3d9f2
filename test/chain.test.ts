/**
 * On-chain verification on the tiny build: the generated verifier and the InferenceRegistry on the in-process
 * chain (valid, tampered, replayed and re-randomized proofs, the gas-estimation trap), the same flow through
 * --rpc-url against a real `hardhat node` process, and clear errors for bad RPC URLs, keys and proof files.
 */
import { TEST_CACHE } from './helpers/cache.ts';
process.env.ZKML_CACHE = TEST_CACHE;
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Contract, Wallet, encryptKeystoreJson, type TransactionReceipt } from 'ethers';
import { makeTinyBuild } from './helpers/tiny-build.ts';
import { tempDir } from './helpers/models.ts';
import { zkml } from './helpers/cli.ts';
import { setup } from '../src/setup/setup.ts';
import { prove } from '../src/prove/prove.ts';
import { buildPaths, readManifest } from '../src/manifest.ts';
import { loadSnarkjs, releaseCurve } from '../src/util/snark.ts';
import { ZkmlError } from '../src/util/errors.ts';
import { readProofArgs, verifierInterface, verifyProofCalldata, type VerifyProofArgs } from '../src/chain/calldata.ts';
import { connect, type Chain } from '../src/chain/provider.ts';
import { deploy, registryArtifact, type DeployResult } from '../src/chain/deploy.ts';
import { inferenceIdOf, verifyOnchain, type OnchainVerification } from '../src/chain/verify-onchain.ts';

const require = createRequire(import.meta.url);
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const writeJson = (path: string, value: unknown) => writeFileSync(path, JSON.stringify(value));
/** Hardhat's well-known development account #1 (funded on every Hardhat chain; public, never use it elsewhere). */
const DEV_KEY_1 = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

let tmp: string;
let build: string;
/** Proofs of x = [3, 5] (twice: snarkjs randomizes, so the proofs differ) and of x = [4, 6]. */
let proof35: string;
let proof35again: string;
let proof46: string;
let chain: Chain;
let deployed: DeployResult;
let firstSubmit: OnchainVerification;

before(async () => {
  tmp = tempDir('chain');
  build = await makeTinyBuild(join(tmp, 'build'));
  await setup(build);
  [proof35, proof35again, proof46] = ['p35', 'p35-again', 'p46'].map((n) => join(tmp, n));
  await prove(build, { x: [[3, 5]] }, { out: proof35 });
  await prove(build, { x: [[3, 5]] }, { out: proof35again });
  await prove(build, { x: [[4, 6]] }, { out: proof46 });
  chain = await connect();
  deployed = await deploy(build, { chain });
});

after(async () => {
  await chain?.close();
  await releaseCurve();
  rmSync(tmp, { recursive: true, force: true });
});

/**
 * A copy of the x = [4, 6] result (public signals 13, 19, 24), with proof.json or public.json changed. Its statement
 * is not recorded before the gas-trap test, so the registry reaches the verifier instead of refusing a replay.
 */
function tampered(name: string, change: { proof?: (p: any) => unknown; publicSignals?: string[] }): string {
  const dir = join(tmp, name);
  cpSync(proof46, dir, { recursive: true });
  if (change.proof) writeJson(join(dir, 'proof.json'), change.proof(readJson(join(proof46, 'proof.json'))));
  if (change.publicSignals) writeJson(join(dir, 'public.json'), change.publicSignals);
  return dir;
}

const registryOn = (c: Chain, address: string) => new Contract(address, registryArtifact().abi as never, c.signer);
const submitArgs = (d: DeployResult, a: VerifyProofArgs) => [d.modelId, a.a, a.b, a.c, a.input] as const;

/** Asserts a promise rejects with a ZkmlError of `code` whose message matches `message`. */
async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ZkmlError, `expected a ZkmlError, got ${err}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

test('export: a per-model verifier and a Hardhat artifact; calldata as snarkjs encodes it', async () => {
  const paths = buildPaths(build);
  const source = readFileSync(paths.verifierSol, 'utf8');
  assert.match(source, /contract TinyVerifier \{/);
  assert.match(source, /uint\[3\] calldata _pubSignals/);
  assert.match(source, /evmVersion paris/);
  const artifact = readJson(paths.verifierArtifact);
  assert.equal(artifact._format, 'hh-sol-artifact-1');
  assert.equal(artifact.contractName, 'TinyVerifier');
  assert.equal(artifact.sourceName, 'Verifier.sol');
  assert.match(artifact.bytecode, /^0x[0-9a-f]+$/);
  assert.deepEqual(artifact.linkReferences, {});
  assert.equal(await chain.provider.getCode(deployed.verifier), artifact.deployedBytecode);

  // snarkjs' own encoding of the same proof: "[a],[[b]],[c],[signals]" with the G2 coordinates swapped.
  const snarkjs = await loadSnarkjs();
  const theirs = JSON.parse(`[${await snarkjs.groth16.exportSolidityCallData(readJson(join(proof35, 'proof.json')), readJson(join(proof35, 'public.json')))}]`);
  const ours = readProofArgs(proof35);
  const hex = (v: bigint) => `0x${v.toString(16).padStart(64, '0')}`;
  assert.deepEqual(theirs, [ours.a.map(hex), ours.b.map((pair) => pair.map(hex)), ours.c.map(hex), ours.input.map(hex)]);
  assert.equal(verifyProofCalldata(ours).slice(0, 10), verifierInterface(3).getFunction('verifyProof')!.selector);
});

test('a valid proof is accepted by the verifier and recorded by the registry, with its event', async () => {
  firstSubmit = await verifyOnchain(build, proof35, { chain });
  assert.equal(firstSubmit.valid, true);
  assert.equal(firstSubmit.deployed, false, 'uses the deployment made on this chain');
  assert.ok(firstSubmit.submit, 'a registry transaction was sent');
  assert.ok(firstSubmit.submit.gasUsed > 0n);
  assert.ok(firstSubmit.submit.gasLimit > firstSubmit.submit.gasUsed);

  const receipt = (await chain.provider.getTransactionReceipt(firstSubmit.submit.txHash)) as TransactionReceipt;
  assert.equal(receipt.status, 1);
  assert.equal(receipt.gasUsed, firstSubmit.submit.gasUsed);
  const registry = registryOn(chain, deployed.registry);
  const events = receipt.logs.map((l) => registry.interface.parseLog(l)).filter((e) => e?.name === 'InferenceRecorded');
  assert.equal(events.length, 1);
  const submitter = await chain.signer.getAddress();
  assert.equal(events[0]!.args.modelId, deployed.modelId);
  assert.equal(events[0]!.args.inferenceId, inferenceIdOf(deployed.modelId, [10n, 16n, 15n]));
  assert.equal(events[0]!.args.submitter, submitter);
  assert.deepEqual([...events[0]!.args.publicSignals], [10n, 16n, 15n]);

  const [recordedBy, block] = await registry.inferences(firstSubmit.inferenceId);
  assert.equal(recordedBy, submitter);
  assert.equal(block, BigInt(receipt.blockNumber));
  assert.equal(await registry.isRecorded(deployed.modelId, [10n, 16n, 15n]), true);
});

test('replays are rejected: the same statement, even with a re-randomized proof', async () => {
  const again = await verifyOnchain(build, proof35, { chain });
  assert.equal(again.valid, true);
  assert.equal(again.submit, undefined, 'nothing sent');
  assert.equal(again.alreadyRecorded?.submitter, await chain.signer.getAddress());

  // A second proof of the same statement has different bytes (Groth16 proofs are malleable/randomized) and is
  // valid, but the registry keys by the statement, so it is still a replay.
  const other = readProofArgs(proof35again);
  assert.notDeepEqual(other.a, readProofArgs(proof35).a);
  const verifier = new Contract(deployed.verifier, verifierInterface(3), chain.provider);
  assert.equal(await verifier.verifyProof(other.a, other.b, other.c, other.input), true);
  const registry = registryOn(chain, deployed.registry);
  await assert.rejects(registry.submit.staticCall(...submitArgs(deployed, other)), (err: any) => err.revert?.name === 'AlreadyRecorded');
});

test('a changed proof point or public signal is rejected by the verifier and the registry', async () => {
  const registry = registryOn(chain, deployed.registry);
  const cases = {
    'point off the curve': tampered('t-point', { proof: (p) => ({ ...p, pi_a: [(BigInt(p.pi_a[0]) + 1n).toString(), p.pi_a[1], p.pi_a[2]] }) }),
    'A and C swapped': tampered('t-swap', { proof: (p) => ({ ...p, pi_a: p.pi_c, pi_c: p.pi_a }) }),
    'changed public signal': tampered('t-signal', { publicSignals: ['14', '19', '24'] }),
  };
  for (const [what, dir] of Object.entries(cases)) {
    const r = await verifyOnchain(build, dir, { chain });
    assert.equal(r.valid, false, what);
    assert.equal(r.submit, undefined, `${what}: nothing sent`);
    await assert.rejects(registry.submit.staticCall(...submitArgs(deployed, readProofArgs(dir))), (err: any) => err.revert?.name === 'InvalidProof', what);
  }
  assert.equal(await registry.isRecorded(deployed.modelId, [14n, 19n, 24n]), false);
});

test('the registry guards registration and submissions', async () => {
  const registry = registryOn(chain, deployed.registry);
  const stranger = new Contract(deployed.registry, registryArtifact().abi as never, await (chain.provider as any).getSigner(1));
  const args = readProofArgs(proof46);
  const revertName = (name: string) => (err: any) => err.revert?.name === name;
  await assert.rejects(stranger.registerModel.staticCall(`0x${'11'.repeat(32)}`, deployed.verifier, 3), revertName('NotOwner'));
  await assert.rejects(registry.registerModel.staticCall(deployed.modelId, deployed.verifier, 3), revertName('ModelAlreadyRegistered'));
  await assert.rejects(registry.registerModel.staticCall(`0x${'11'.repeat(32)}`, await chain.signer.getAddress(), 3), revertName('VerifierNotAContract'));
  await assert.rejects(registry.submit.staticCall(`0x${'22'.repeat(32)}`, args.a, args.b, args.c, args.input), revertName('UnknownModel'));
  await assert.rejects(registry.submit.staticCall(deployed.modelId, args.a, args.b, args.c, args.input.slice(0, 2)), revertName('WrongSignalCount'));
  // The selector the registry computes is the one of the verifier snarkjs generated.
  assert.equal(await registry.selectorFor(3), verifierInterface(3).getFunction('verifyProof')!.selector);
});

test('gas trap: a bare estimate makes verifyProof return false; the registry path cannot', async () => {
  const args = readProofArgs(proof46);
  const verifier = new Contract(deployed.verifier, verifierInterface(3), chain.signer);
  const estimate = await verifier.verifyProof.estimateGas(args.a, args.b, args.c, args.input);

  // The trap: with the node's own estimate as the limit, the pairing call runs short (63/64 rule) and the
  // verifier answers false, in an eth_call and in a transaction that nevertheless succeeds.
  assert.equal(await verifier.verifyProof.staticCall(args.a, args.b, args.c, args.input, { gasLimit: estimate }), false);
  const tx = await chain.signer.sendTransaction({ to: deployed.verifier, data: verifyProofCalldata(args), gasLimit: estimate });
  assert.equal((await tx.wait())!.status, 1, 'the transaction succeeds...');
  const trace = await (chain.provider as any).send('debug_traceTransaction', [tx.hash, { disableStorage: true, disableMemory: true, disableStack: true }]);
  assert.equal(BigInt(trace.returnValue), 0n, '...while verifyProof returned false');
  assert.equal(await verifier.verifyProof.staticCall(args.a, args.b, args.c, args.input), true, 'the proof itself is valid');

  // The registry requires the result: too little gas is a revert, never a silently unrecorded inference...
  const registry = registryOn(chain, deployed.registry);
  await assert.rejects(registry.submit(...submitArgs(deployed, args), { gasLimit: estimate }));
  assert.equal(await registry.isRecorded(deployed.modelId, args.input), false);
  // ...and zkml sends an explicit limit above the (now searching) estimate.
  const r = await verifyOnchain(build, proof46, { chain });
  assert.equal(r.valid, true);
  assert.ok(r.submit && r.submit.gasLimit > estimate);
  assert.equal(await registry.isRecorded(deployed.modelId, args.input), true);
});

test('the default in-process chain: verifyOnchain deploys first on a fresh chain', async () => {
  const dir = join(tmp, 'fresh');
  cpSync(build, dir, { recursive: true });
  const r = await verifyOnchain(dir, proof35);
  assert.equal(r.deployed, true);
  assert.equal(r.valid, true);
  assert.ok(r.submit && r.submit.gasUsed === firstSubmit.submit!.gasUsed, 'same gas as on the first in-process chain');
});

test('a new setup of the same model: its id is taken in the old registry, the old verifier is stale', async () => {
  const dir = join(tmp, 'resetup');
  cpSync(build, dir, { recursive: true });
  await setup(dir, { contribute: 'a new key' }); // the development setup alone is deterministic: the same key
  // Same model id (the ONNX hash), new verifying key: the registry's binding is immutable.
  await rejectsWith(deploy(dir, { chain }), 'E_MODEL_ID_TAKEN', /is bound to verifier .* \(--registry new\)/);
  // The recorded verifier still answers, but for the old key: said plainly, not reported as an invalid proof.
  await rejectsWith(verifyOnchain(dir, proof35, { chain }), 'E_STALE_DEPLOYMENT', /earlier setup/);

  const fresh = await deploy(dir, { chain, registry: 'new' });
  assert.deepEqual(fresh.sent, { verifier: true, registry: true, registerModel: true });
  assert.notEqual(fresh.registry, deployed.registry);
  const out = join(tmp, 'resetup-proof');
  await prove(dir, { x: [[3, 5]] }, { out });
  const r = await verifyOnchain(dir, out, { chain });
  assert.equal(r.valid, true);
  assert.equal(r.registry, fresh.registry);
  assert.ok(r.submit, 'recorded in the new registry (the old one has this statement already)');
  // The old build's proof does not verify against the new key.
  assert.equal((await verifyOnchain(dir, proof46, { chain, viewOnly: true })).valid, false);
});

test('a new setup invalidates the recorded deployments; verify --onchain says why instead of "NOT valid"', async () => {
  const dir = join(tmp, 'resetup-explained');
  cpSync(build, dir, { recursive: true });
  assert.ok(readManifest(dir).deployments?.['in-process'], 'the copy records the deployment made in before()');
  await setup(dir, { contribute: 'a new key' }); // the development setup alone is deterministic: the same key
  assert.equal(readManifest(dir).deployments, undefined, 'a new verifying key: the recorded deployments no longer apply');
  assert.equal(existsSync(buildPaths(dir).verifierArtifact), false, 'nor the exported verifier');
  const out = join(tmp, 'resetup-explained-proof');
  await prove(dir, { x: [[3, 5]] }, { out });

  // The old deployment is still on this chain: said plainly, with what to do.
  await rejectsWith(verifyOnchain(dir, out, { chain }), 'E_STALE_DEPLOYMENT', /verifier 0x[0-9a-fA-F]{40}.*earlier setup.*deploy\(dir, \{ chain, registry: 'new' \}\)/);
  // Pointed at the old verifier explicitly: not valid, and the reason says the contract checks another key.
  const r = await verifyOnchain(dir, out, { chain, verifier: deployed.verifier, viewOnly: true });
  assert.equal(r.valid, false);
  assert.match(r.reason ?? '', /verifies against this build's verification key.*the verifier at 0x[0-9a-fA-F]{40} checks another key/);
  // A proof that is not this build's at all: the reason says that instead.
  const foreign = tampered('t-foreign', { publicSignals: ['14', '19', '24'] });
  const f = await verifyOnchain(build, foreign, { chain, viewOnly: true });
  assert.equal(f.valid, false);
  assert.match(f.reason ?? '', /does not verify against this build's verification key either/);
});

test('malformed proof files and wrong addresses get clear errors', async () => {
  const notJson = tampered('m-json', {});
  writeFileSync(join(notJson, 'proof.json'), '{"pi_a": [');
  await rejectsWith(verifyOnchain(build, notJson, { chain }), 'E_PROOF_FORMAT', /proof\.json: not valid JSON/);
  await rejectsWith(verifyOnchain(build, tampered('m-coord', { proof: (p) => ({ ...p, pi_c: ['12x', '3', '1'] }) }), { chain }), 'E_PROOF_FORMAT', /proof\.json: pi_c\[0\] is "12x"/);
  await rejectsWith(verifyOnchain(build, tampered('m-pib', { proof: ({ pi_b: _, ...rest }) => rest }), { chain }), 'E_PROOF_FORMAT', /pi_b must be an array/);
  await rejectsWith(verifyOnchain(build, tampered('m-count', { publicSignals: ['13', '19'] }), { chain }), 'E_PROOF_FORMAT', /public\.json has 2 signals; this build's circuit has 3/);
  const p = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
  await rejectsWith(verifyOnchain(build, tampered('m-unreduced', { publicSignals: [(13n + p).toString(), '19', '24'] }), { chain }), 'E_PROOF_FORMAT', /not reduced/);
  await rejectsWith(verifyOnchain(build, join(tmp, 'nowhere'), { chain }), 'E_PROOF_FORMAT', /proof\.json: missing/);
  await rejectsWith(verifyOnchain(build, proof35, { chain, verifier: `0x${'33'.repeat(20)}` }), 'E_NOT_DEPLOYED', /no contract at verifier/);
});

// ---- a real JSON-RPC node -------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `hardhat node` as the README starts it (`npx hardhat node`, i.e. Hardhat's CLI with the checkout's
 * hardhat.config.cjs), on a free port; ready in ~2 s.
 */
async function startHardhatNode(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [require.resolve('hardhat/internal/cli/cli.js'), 'node', '--hostname', '127.0.0.1', '--port', String(port)], { cwd: join(import.meta.dirname, '..'), stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' });
      if (res.ok) return { url, child };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGTERM');
  throw new Error('hardhat node did not start within 20 s');
}

test('--rpc-url: deploy and verify on a real hardhat node, same gas as in-process; bad URLs and keys', async (t) => {
  const node = await startHardhatNode();
  t.after(() => node.child.kill('SIGTERM'));
  const dir = join(tmp, 'rpc');
  cpSync(build, dir, { recursive: true });

  // The CLI, with a private key.
  const cli = zkml(['deploy', dir, '--rpc-url', node.url, '--private-key', DEV_KEY_1, '--json']);
  assert.equal(cli.status, 0, cli.stderr + cli.stdout);
  const event = cli.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'deployed');
  assert.equal(event.chainId, '31337');
  assert.equal(event.sent.verifier, true);
  assert.equal(event.gasUsed.verifier, deployed.gasUsed.verifier!.toString(), 'verifier deployment gas as in-process');
  const recorded = readManifest(dir).deployments?.['31337'];
  assert.equal(recorded?.verifier, event.verifier);
  assert.equal(recorded?.rpcUrl, node.url);

  // verifyOnchain with its own connection (the node's unlocked account signs): the recorded deployment is used.
  const r = await verifyOnchain(dir, proof35, { rpcUrl: node.url });
  assert.equal(r.valid, true);
  assert.equal(r.deployed, false);
  assert.equal(r.registry, event.registry);
  assert.equal(r.submit?.gasUsed, firstSubmit.submit!.gasUsed, 'submit gas as in-process');

  // A second deploy finds everything in place and sends nothing.
  const again = await deploy(dir, { rpcUrl: node.url, privateKey: DEV_KEY_1 });
  await again.chain.close();
  assert.deepEqual(again.sent, { verifier: false, registry: false, registerModel: false });

  // A new setup of a build deployed on a real node: verify --onchain explains, a new deploy makes it whole.
  const resetup = join(tmp, 'rpc-resetup');
  cpSync(dir, resetup, { recursive: true });
  await setup(resetup, { contribute: 'a new key' }); // the development setup alone is deterministic: the same key
  const fresh = join(tmp, 'rpc-resetup-proof');
  await prove(resetup, { x: [[3, 5]] }, { out: fresh });
  await rejectsWith(verifyOnchain(resetup, fresh, { rpcUrl: node.url }), 'E_STALE_DEPLOYMENT', new RegExp(`earlier setup.*'zkml deploy .* --rpc-url ${node.url} --registry new'`));
  const redeployed = await deploy(resetup, { rpcUrl: node.url, privateKey: DEV_KEY_1, registry: 'new' });
  await redeployed.chain.close();
  const after = await verifyOnchain(resetup, fresh, { rpcUrl: node.url });
  assert.equal(after.valid, true);
  assert.equal(after.verifier, redeployed.verifier);

  // Keystore: right and wrong password.
  const keystore = join(tmp, 'keystore.json');
  const dev1 = new Wallet(DEV_KEY_1);
  writeFileSync(keystore, await encryptKeystoreJson({ address: dev1.address, privateKey: DEV_KEY_1 }, 'correct horse', { scrypt: { N: 1024 } }));
  process.env.ZKML_KEYSTORE_PASSWORD = 'correct horse';
  const viaKeystore = await connect({ rpcUrl: node.url, keystore });
  assert.equal(await viaKeystore.signer.getAddress(), dev1.address);
  await viaKeystore.close();
  process.env.ZKML_KEYSTORE_PASSWORD = 'wrong';
  await rejectsWith(connect({ rpcUrl: node.url, keystore }), 'E_KEYSTORE', /wrong password/);
  delete process.env.ZKML_KEYSTORE_PASSWORD;

  // Bad keys: malformed (never echoed), and valid but unfunded (says how much is needed).
  await assert.rejects(deploy(dir, { rpcUrl: node.url, privateKey: '0x1234abcd' }), (err: ZkmlError) => {
    assert.equal(err.code, 'E_BAD_KEY');
    assert.match(err.message, /expected 64 hex digits .* got 8 characters/);
    assert.doesNotMatch(err.message, /1234abcd/);
    return true;
  });
  await rejectsWith(deploy(join(tmp, 'rpc'), { rpcUrl: node.url, privateKey: Wallet.createRandom().privateKey, registry: 'new' }), 'E_FUNDS', /holds 0\.0 ETH; deploying TinyVerifier and InferenceRegistry needs up to [0-9.]+ ETH \(\d+ gas at/);
});

test('unreachable or silent RPC URLs fail fast with a clear error', async () => {
  const closed = await freePort();
  const started = Date.now();
  await rejectsWith(connect({ rpcUrl: `http://127.0.0.1:${closed}` }), 'E_RPC_UNREACHABLE', /cannot reach the RPC node \(ECONNREFUSED\)/);
  assert.ok(Date.now() - started < 5000);

  // A server that accepts connections and never answers.
  const sockets: Socket[] = [];
  const silent: Server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const port = (silent.address() as { port: number }).port;
    await rejectsWith(connect({ rpcUrl: `http://127.0.0.1:${port}/v3/SECRET`, timeoutMs: 500 }), 'E_RPC_UNREACHABLE', /no answer within 0\.5 s/);
    await rejectsWith(connect({ rpcUrl: `http://127.0.0.1:${port}/v3/SECRET`, timeoutMs: 500 }), 'E_RPC_UNREACHABLE', /^http:\/\/127\.0\.0\.1:\d+: /);
  } finally {
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
  await rejectsWith(connect({ rpcUrl: 'not a url' }), 'E_RPC_URL', /is not a URL/);
  await rejectsWith(connect({ privateKey: DEV_KEY_1 }), 'E_SIGNER', /needs --rpc-url/);
});
