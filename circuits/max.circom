pragma circom 2.1.0;

// max(a, b) and the comparison bit (see src/gadgets/max.ts for the integer semantics).
//   sign = 1 if a >= b else 0
//   out  = b + (a - b) * sign
// The caller guarantees, from interval analysis, that d = a - b lies in [-2^(w-1), 2^(w-1)). Then
// v = d + 2^(w-1) lies in [0, 2^w) and its w bits are unique; the top bit is 1 exactly when d >= 0.
// Soundness: every bit is boolean-constrained and their weighted sum equals v, with w <= 252 < log2(p), so
// no other assignment satisfies the constraints (a d outside the range has no witness at all); the output is
// one product of d with that top bit. Cost: w booleans + 1 product.
template ZkMax(w) {
    signal input a;
    signal input b;
    signal output out;
    signal output sign;

    var v = a - b + 2 ** (w - 1);
    signal bits[w];
    var sum = 0;
    var weight = 1;
    for (var i = 0; i < w; i++) {
        bits[i] <-- (v >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        sum += bits[i] * weight;
        weight += weight;
    }
    sum === v;

    sign <== bits[w - 1];
    out <== b + (a - b) * sign;
}
