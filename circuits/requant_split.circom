pragma circom 2.1.0;

// Requantization that exposes its parts (see src/gadgets/requant-split.ts for the integer semantics):
//   q   = floor((in + 2^(k-1)) / 2^k)          (round half up; k = 0: q = in)
//   rem = in - q * 2^k                          (in [-2^(k-1), 2^(k-1)); 0 when k = 0)
//   pos = relu ? max(q, 0) : q
// Same decomposition as ZkRequant: the caller guarantees from interval analysis that q fits b bits (signed:
// q in [-2^(b-1), 2^(b-1)), else [0, 2^b)), so v = in + 2^(k-1) + signed*2^(k+b-1) lies in [0, 2^(k+b)) and
// its k+b boolean-constrained bits, whose weighted sum equals v (k+b <= 250 < log2(p)), are unique. q and
// rem are linear in those bits; the ReLU is one product of q with q's sign bit (the top bit when signed).
// Used where an activation needs more than the clamped quotient: LeakyRelu/PRelu (q and max(q, 0)) and the
// interpolated tables of Sigmoid/Tanh (the clamped index and the remainder).
template ZkRequantSplit(k, b, signed, relu) {
    signal input in;
    signal output q;
    signal output rem;
    signal output pos;

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

    var low = 0;
    weight = 1;
    for (var i = 0; i < k; i++) {
        low += bits[i] * weight;
        weight += weight;
    }
    rem <== low - half;

    var quotient = 0;
    weight = 1;
    for (var i = 0; i < b; i++) {
        quotient += bits[k + i] * weight;
        weight += weight;
    }
    q <== quotient - (signed == 1 ? 2 ** (b - 1) : 0);

    if (relu == 1 && signed == 1) {
        pos <== q * bits[k + b - 1];
    } else {
        pos <== q;
    }
}
