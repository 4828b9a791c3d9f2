pragma circom 2.1.0;

// out = a * b for two computed values (a product with a constant needs no template: it is linear).
template ZkProduct() {
    signal input a;
    signal input b;
    signal output out;
    out <== a * b;
}
