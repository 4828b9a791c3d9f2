pragma circom 2.1.0;

// One-hot vector of a small integer (see src/gadgets/onehot.ts): h[i] = 1 if idx == i else 0, for idx in
// [0, n). A table lookup is then linear: Σ table[i]·h[i] costs nothing more.
// Soundness: each h[i] is boolean, they sum to 1 (exactly one is set) and Σ i·h[i] equals idx, so the set
// one is h[idx]; an idx outside [0, n) has no witness. Cost: n booleans (the two linear constraints are
// absorbed by --O2).
template ZkOneHot(n) {
    signal input idx;
    signal output h[n];

    var count = 0;
    var position = 0;
    for (var i = 0; i < n; i++) {
        h[i] <-- idx == i ? 1 : 0;
        h[i] * (h[i] - 1) === 0;
        count += h[i];
        position += i * h[i];
    }
    count === 1;
    position === idx;
}
