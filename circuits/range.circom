pragma circom 2.1.0;

// Range check: in - lo in [0, 2^b), by b boolean-constrained bits whose weighted sum equals in - lo
// (b <= 250, so the sum cannot wrap around the field). out = in.
template ZkRange(b, lo) {
    signal input in;
    signal output out;
    signal bits[b];
    var v = in - lo;
    var sum = 0;
    var weight = 1;
    for (var i = 0; i < b; i++) {
        bits[i] <-- (v >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        sum += bits[i] * weight;
        weight += weight;
    }
    sum === v;
    out <== in;
}
