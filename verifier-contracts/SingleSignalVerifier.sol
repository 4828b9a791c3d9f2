// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice The Groth16 verifier zkml generates for a single-signal build (snarkjs' template, N = 1).
interface ISingleSignalGroth16Verifier {
    function verifyProof(uint256[2] calldata a, uint256[2][2] calldata b, uint256[2] calldata c, uint256[1] calldata publicSignals) external view returns (bool);
}

/// @notice The same for a single-signal build with hashed weights (N = 2): the proven model id, then the signal.
interface IModelIdGroth16Verifier {
    function verifyProof(uint256[2] calldata a, uint256[2][2] calldata b, uint256[2] calldata c, uint256[2] calldata publicSignals) external view returns (bool);
}

/// @title SingleSignalVerifier
/// @notice Checks "model `modelId`, on the input with digest `inputDigest`, output `outputs`" against a proof of a
///         zkml build compiled with `--single-signal`, whose one public signal is
///         Poseidon(modelId, inputDigest, outputDigest). The contract recomputes the output digest from the claimed
///         output integers exactly as zkml does (src/commit/pack.ts, src/commit/poseidon.ts), then the signal,
///         and asks the build's verifier.
///         With fixed weights the verifier itself fixes the model: a wrong `modelId` fails. With hashed weights
///         (`--param-visibility hashed`) one verifier serves every model of an architecture and the proof
///         carries the proven model id as a public signal of its own, before the commitment
///         (`modelIdSignal`): `verify` then shows that *the* model `modelId` ran, and the caller must check that
///         `modelId` is the model it trusts.
/// @dev Packing (per output tensor, in the manifest's commitments.output order): each value v is stored as
///      v - lo in `width` bits; `perElement` values share one field element, little-endian (the first value in
///      the lowest bits), and a tensor starts a new element. Negative integers are therefore never encoded as
///      p - |v|: the offset by lo makes every packed value non-negative. Values outside [lo, lo + 2^width) are
///      refused, as zkml's pack() refuses them (the circuit range-checks them, which is what makes the packing
///      injective). The field elements are hashed with zkml's Poseidon chain: the first 16 in one call, then each
///      further group of up to 15 together with the previous digest. Poseidon itself runs in contracts made by
///      circomlibjs' generator (poseidonContract.createCode(n)), which exists for n = 1..6 inputs: builds whose
///      outputs pack into more than 6 field elements (6 x 248 bits) are refused at deployment.
///      Failed verification reverts (InvalidProof), it does not return false: snarkjs' verifier answers false
///      when its pairing call runs short of gas, and a revert makes gas estimation search for a passing amount
///      (see verifier-contracts/README.md, "The gas-estimation trap").
contract SingleSignalVerifier {
    /// @notice BN254 scalar field order: public signals, model ids and digests are below it.
    uint256 public constant FIELD_P = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice The widest Poseidon circomlibjs' contract generator makes.
    uint256 public constant MAX_POSEIDON_INPUTS = 6;

    /// @notice One output tensor's packing (zkml's PackLayout). Two storage slots.
    struct Segment {
        int256 lo;
        uint64 count;
        uint16 width;
        uint16 perElement;
    }

    /// @notice The build's Groth16 verifier (one public signal, or two: model id and signal).
    address public immutable verifier;

    /// @notice The verifier takes the model id as a public signal before the commitment (hashed weights).
    bool public immutable modelIdSignal;

    /// @notice Number of output integers a claim carries, and of field elements they pack into.
    uint256 public immutable outputCount;
    uint256 public immutable fieldCount;

    address private immutable poseidon1;
    address private immutable poseidon2;
    address private immutable poseidon3;
    address private immutable poseidon4;
    address private immutable poseidon5;
    address private immutable poseidon6;

    /// @notice The output tensors' packing, in order.
    Segment[] public segments;

    error NotAContract(address account);
    error BadLayout(uint256 segment);
    error NoPoseidon(uint256 inputs);
    error PoseidonFailed(uint256 inputs);
    error WrongOutputCount(uint256 expected, uint256 got);
    error OutputOutOfRange(uint256 index, int256 value, int256 lo, int256 hi);
    error NotAFieldElement(uint256 value);
    error InvalidProof(uint256 publicSignal);

    /// @param verifier_ The build's verifier (`zkml export-verifier`), deployed.
    /// @param poseidons poseidons[n - 1]: a contract from circomlibjs' poseidonContract.createCode(n), or zero when
    ///        the layout needs no Poseidon of n inputs.
    /// @param los, counts, widths, perElements: the manifest's commitments.output[i].layout, one entry per tensor.
    /// @param modelIdSignal_ The build's first public signal is the model id (manifest publicSignals[0].kind).
    constructor(
        address verifier_,
        address[6] memory poseidons,
        int256[] memory los,
        uint256[] memory counts,
        uint256[] memory widths,
        uint256[] memory perElements,
        bool modelIdSignal_
    ) {
        if (verifier_.code.length == 0) revert NotAContract(verifier_);
        uint256 n = los.length;
        if (n == 0 || counts.length != n || widths.length != n || perElements.length != n) revert BadLayout(n);
        uint256 total;
        uint256 fields;
        for (uint256 i; i < n; i++) {
            uint256 w = widths[i];
            uint256 per = perElements[i];
            // The injectivity condition: a packed element holds at most 248 bits, below the field's 253.
            if (counts[i] == 0 || counts[i] > type(uint64).max || w == 0 || per == 0 || w * per > 248) revert BadLayout(i);
            segments.push(Segment(los[i], uint64(counts[i]), uint16(w), uint16(per)));
            total += counts[i];
            fields += (counts[i] + per - 1) / per;
        }
        verifier = verifier_;
        modelIdSignal = modelIdSignal_;
        outputCount = total;
        fieldCount = fields;
        poseidon1 = poseidons[0];
        poseidon2 = poseidons[1];
        poseidon3 = poseidons[2];
        poseidon4 = poseidons[3];
        poseidon5 = poseidons[4];
        poseidon6 = poseidons[5];
        // Every width the two chains need (the output digest's, and 3 for the signal) must have code.
        for (uint256 pos; pos < fields; ) {
            uint256 take = pos == 0 ? min(fields, 16) : min(fields - pos, 15) + 1;
            requirePoseidon(poseidons, take);
            pos += pos == 0 ? take : take - 1;
        }
        requirePoseidon(poseidons, 3);
    }

    /// @notice zkml's output digest of the claimed output integers (all tensors, flattened, in manifest order).
    function outputDigest(int256[] calldata outputs) public view returns (uint256) {
        if (outputs.length != outputCount) revert WrongOutputCount(outputCount, outputs.length);
        uint256[] memory fields = new uint256[](fieldCount);
        uint256 f;
        uint256 base;
        uint256 n = segments.length;
        for (uint256 s; s < n; s++) {
            Segment memory seg = segments[s];
            int256 hi = seg.lo + int256((uint256(1) << seg.width) - 1);
            for (uint256 start; start < seg.count; start += seg.perElement) {
                uint256 end = min(start + seg.perElement, seg.count);
                uint256 acc;
                for (uint256 i = end; i > start; ) {
                    i--;
                    int256 v = outputs[base + i];
                    if (v < seg.lo || v > hi) revert OutputOutOfRange(base + i, v, seg.lo, hi);
                    // 0 <= v - lo < 2^width: no overflow, and acc stays below 2^248.
                    unchecked {
                        acc = (acc << seg.width) | uint256(v - seg.lo);
                    }
                }
                fields[f++] = acc;
            }
            base += seg.count;
        }
        return hashChain(fields);
    }

    /// @notice The single public signal: Poseidon(modelId, inputDigest, outputDigest(outputs)).
    /// @dev modelId and inputDigest must be field elements: Poseidon reduces its inputs modulo p, so x and x + p
    ///      would otherwise give the same signal.
    function commitment(uint256 modelId, uint256 inputDigest, int256[] calldata outputs) public view returns (uint256) {
        if (modelId >= FIELD_P) revert NotAFieldElement(modelId);
        if (inputDigest >= FIELD_P) revert NotAFieldElement(inputDigest);
        uint256[] memory fields = new uint256[](3);
        fields[0] = modelId;
        fields[1] = inputDigest;
        fields[2] = outputDigest(outputs);
        return hashChain(fields);
    }

    /// @notice Reverts unless the proof shows that model `modelId` output `outputs` on the input with digest
    ///         `inputDigest`. Returns the public signal (a key for the statement, e.g. for replay protection).
    /// @param a, b, c The proof as verifyProof takes it (zkml's readProofArgs / toVerifyProofArgs).
    function verify(
        uint256 modelId,
        uint256 inputDigest,
        int256[] calldata outputs,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c
    ) external view returns (uint256 publicSignal) {
        publicSignal = commitment(modelId, inputDigest, outputs);
        bool ok = modelIdSignal
            ? IModelIdGroth16Verifier(verifier).verifyProof(a, b, c, [modelId, publicSignal])
            : ISingleSignalGroth16Verifier(verifier).verifyProof(a, b, c, [publicSignal]);
        if (!ok) revert InvalidProof(publicSignal);
    }

    /// @dev zkml's chain (src/commit/poseidon.ts hashChain, circuits/hash.circom ZkHashChain).
    function hashChain(uint256[] memory fields) internal view returns (uint256 digest) {
        uint256 m = fields.length;
        uint256 take = min(m, 16);
        uint256[] memory args = new uint256[](take);
        for (uint256 i; i < take; i++) args[i] = fields[i];
        digest = poseidon(args);
        for (uint256 pos = 16; pos < m; pos += 15) {
            take = min(15, m - pos);
            args = new uint256[](take + 1);
            args[0] = digest;
            for (uint256 i; i < take; i++) args[i + 1] = fields[pos + i];
            digest = poseidon(args);
        }
    }

    /// @dev One call of circomlibjs' Poseidon contract: selector of poseidon(uint256[n]), then the n words.
    function poseidon(uint256[] memory inputs) internal view returns (uint256) {
        uint256 n = inputs.length;
        address p = poseidonAt(n);
        (bool ok, bytes memory ret) = p.staticcall(abi.encodePacked(poseidonSelector(n), inputs));
        if (!ok || ret.length != 32) revert PoseidonFailed(n);
        return abi.decode(ret, (uint256));
    }

    function poseidonAt(uint256 n) internal view returns (address p) {
        if (n == 1) p = poseidon1;
        else if (n == 2) p = poseidon2;
        else if (n == 3) p = poseidon3;
        else if (n == 4) p = poseidon4;
        else if (n == 5) p = poseidon5;
        else if (n == 6) p = poseidon6;
        if (p == address(0)) revert NoPoseidon(n);
    }

    /// @notice Selector of circomlibjs' `poseidon(uint256[n])`, n = 1..9.
    function poseidonSelector(uint256 n) public pure returns (bytes4) {
        return bytes4(keccak256(abi.encodePacked("poseidon(uint256[", bytes1(uint8(48 + n)), "])")));
    }

    function requirePoseidon(address[6] memory poseidons, uint256 n) private view {
        if (n == 0 || n > MAX_POSEIDON_INPUTS || poseidons[n - 1].code.length == 0) revert NoPoseidon(n);
    }

    function min(uint256 x, uint256 y) private pure returns (uint256) {
        return x < y ? x : y;
    }
}
