/**
 * zkml's library API: everything the CLI does, typed. The CLI (src/cli) is a thin layer over these.
 *
 *   import { compile, setup, prove, verify } from 'zkml';
 *   const manifest = await compile('model.onnx', 'build', { inputRange: [0, 1] });
 *   await setup('build');                                   // dev ptau: INSECURE, for development
 *   await prove('build', { file: 'x.json' }, { out: 'out' });
 *   const { valid } = await verify('build', 'out');
 *   // nothing to clean up: the script ends by itself
 *
 * Calls leave nothing running. snarkjs' multi-threaded bn128 curve, which setup, large proofs and the verifier
 * export start, is terminated IDLE_RELEASE_MS after zkml's last use of it (back-to-back calls keep it warm), and
 * proveBatch stops its worker pool before it returns. `releaseCurve()` ends the curve at once. What a call hands
 * back stays yours to close: a `Chain` from `connect()` (or `deploy()`'s result) until `chain.close()`.
 * test/library-exit.test.ts runs this promise as a child process.
 */
export { compile, analyze, analyzeOptionsOf, type CompileOptions, type AnalyzeOptions, type Analysis } from './compiler/compile.ts';
export { crossCheck, type CrossCheck } from './compiler/crosscheck.ts';
export {
  calibrate,
  chosenQuant,
  type CalibrateOptions,
  type Calibration,
  type SettingResult,
  type Target as CalibrationTarget,
} from './calibrate/calibrate.ts';
export { loadSamples, type Sample } from './io/samples.ts';
export { readSettings, writeSettings } from './calibrate/settings.ts';
export { quantizeModel, type PtqOptions, type PtqReport, type ActivationType } from './ptq/ptq.ts';
export { audit, type AuditReport, type Finding, type FindingKind } from './audit/audit.ts';
export { run, type RunOutput } from './run.ts';
export { setup, contribute, beacon, verifySetup, type SetupOptions } from './setup/setup.ts';
export { devPtau } from './setup/dev-ptau.ts';
export { prove, type ProveOptions, type ProveResult } from './prove/prove.ts';
export { proveBatch, type BatchOptions, type BatchSummary } from './prove/batch.ts';
export { verify, type VerifyResult } from './prove/verify.ts';
export { exportVerifier } from './chain/solidity.ts';
export { toVerifyProofArgs, readProofArgs, verifyProofCalldata } from './chain/calldata.ts';
export { connect, type Chain, type ChainOptions } from './chain/provider.ts';
export { deploy, type DeployOptions, type DeployResult } from './chain/deploy.ts';
export { verifyOnchain, type VerifyOnchainOptions, type OnchainVerification } from './chain/verify-onchain.ts';
export {
  deploySingleSignalVerifier,
  singleSignalClaim,
  singleSignalArtifact,
  deployPoseidon,
  poseidonCreationCode,
  poseidonInterface,
  MAX_POSEIDON_INPUTS,
  type SingleSignalDeployment,
  type SingleSignalDeployOptions,
  type SingleSignalClaim,
  type PoseidonContracts,
} from './chain/poseidon-contract.ts';
export { recomputeDigests, type Digests } from './commit/commitments.ts';
export { readManifest, buildPaths, type Manifest, type TensorSpec } from './manifest.ts';
export { encodeInputs, readInputFile } from './io/input.ts';
export { decodePublicSignals } from './io/output.ts';
export { releaseCurve, IDLE_RELEASE_MS } from './util/snark.ts';
export { ZkmlError } from './util/errors.ts';
export { DEFAULT_QUANT, type QuantOptions } from './quantize/options.ts';
