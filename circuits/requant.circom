pragma circom 2.1.0;

// Requantization with optional ReLU (see src/gadgets/requant.ts for the integer semantics).
//   q   = floor((in + 2^(k-1)) / 2^k)          (k = 0: q = in)
//   out = relu ? max(q, 0) : q
// The caller guarantees, from interval analysis, that q fits b bits: q in [0, 2^b) when signed = 0, or
// q in [-2^(b-1), 2^(b-1)) when signed = 1. Then v = in + 2^(k-1) + signed*2^(k+b-1) lies in [0, 2^(k+b)),
// and its k+b bits are unique: the low k bits are the remainder, the high b bits are q (+ 2^(b-1) if signed).
// Soundness: every bit is boolean-constrained and their weighted sum equals v, with k+b <= 250 < log2(p), so
// no other assignment satisfies the constraints. The ReLU multiplies q by q's sign bit (the top bit when
// signed): one constraint, no second comparison.
template ZkRequant(k, b, signed, relu) {
    signal input in;
    signal output out;

    var half = k > 0 ? 2 ** (k - 1) : 0;
    var offset = signed == 1 ? 2 ** (k + b - 1) : 0;
    var v = in + half + offset;

    signal bits[k + b];
    var sum = 0;
    var weight = 1;
    for (var i = 0; i < k + b; i++) {
        bits[i] <-- (v >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        sum += bits[i] * weight;
        weight += weight;
    }
    sum === v;

    var q = 0;
    weight = 1;
    for (var i = 0; i < b; i++) {
        q += bits[k + i] * weight;
        weight += weight;
    }
    q -= signed == 1 ? 2 ** (b - 1) : 0;

    if (relu == 1 && signed == 1) {
        out <== q * bits[k + b - 1];
    } else {
        out <== q;
    }
}
