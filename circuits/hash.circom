pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";

// Poseidon over m field elements (circomlib's Poseidon takes at most 16 inputs): the first 16 in one call,
// then each further group of up to 15 together with the previous digest. src/commit/poseidon.ts computes the
// same chain outside the circuit. Callers pack small integers into the inputs (src/commit/pack.ts) and
// range-check every packed value, which makes the packing injective.
template ZkHashChain(m) {
    signal input in[m];
    signal output out;

    var calls = m <= 16 ? 1 : 1 + (m - 16 + 14) \ 15;
    component h[calls];
    var pos = 0;
    for (var j = 0; j < calls; j++) {
        var take = j == 0 ? (m < 16 ? m : 16) : (m - pos < 15 ? m - pos : 15);
        var first = j == 0 ? 0 : 1;
        h[j] = Poseidon(take + first);
        if (j > 0) {
            h[j].inputs[0] <== h[j - 1].out;
        }
        for (var i = 0; i < take; i++) {
            h[j].inputs[first + i] <== in[pos + i];
        }
        pos += take;
    }
    out <== h[calls - 1].out;
}
