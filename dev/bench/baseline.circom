pragma circom 2.1.0;

// The circomlib-ml / keras2circom encoding of a neural network, re-implemented for the benchmark baseline
// (socathie/circomlib-ml, the templates keras2circom wires together). It reproduces their cost structure, not
// zkml's rules — it is deliberately what zkml avoids:
// - weights and biases are private input signals, so every multiplication by a weight is a constraint;
// - every layer output (`out`) and division remainder (`remainder`) is a private input the prover supplies;
//   the remainder is checked by a circom `assert` only, which adds no constraint (design rule 1 is broken on
//   purpose: a prover can choose any quotient);
// - ReLU and max pooling compare through full-width decompositions: Num2Bits(254) + Sign() for the sign,
//   LessThan(252) for comparisons, whatever the values' actual ranges.
// Nothing here is used by zkml's own circuits.

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/sign.circom";
include "circomlib/circuits/switcher.circom";

// Σ a[i]·b[i] as a running sum: one constraint per product (both operands are signals).
template DotProduct(n) {
    signal input a[n];
    signal input b[n];
    signal output out;
    signal sum[n];
    sum[0] <== a[0] * b[0];
    for (var i = 1; i < n; i++) {
        sum[i] <== sum[i - 1] + a[i] * b[i];
    }
    out <== sum[n - 1];
}

// circomlib-ml Dense: out = floor((in · weights + bias) / n); the remainder is a free input under `assert`.
template Dense(nInputs, nOutputs, n) {
    signal input in[nInputs];
    signal input weights[nInputs][nOutputs];
    signal input bias[nOutputs];
    signal input out[nOutputs];
    signal input remainder[nOutputs];

    component dot[nOutputs];
    for (var i = 0; i < nOutputs; i++) {
        assert(remainder[i] < n);
        dot[i] = DotProduct(nInputs);
        for (var j = 0; j < nInputs; j++) {
            dot[i].a[j] <== in[j];
            dot[i].b[j] <== weights[j][i];
        }
        out[i] * n + remainder[i] === dot[i].out + bias[i];
    }
}

// circomlib-ml Conv2D (valid padding, square kernel, channels last): one constraint per multiply-accumulate.
template Conv2D(nRows, nCols, nChannels, nFilters, kernelSize, strides, n) {
    var outRows = (nRows - kernelSize) \ strides + 1;
    var outCols = (nCols - kernelSize) \ strides + 1;
    signal input in[nRows][nCols][nChannels];
    signal input weights[kernelSize][kernelSize][nChannels][nFilters];
    signal input bias[nFilters];
    signal input out[outRows][outCols][nFilters];
    signal input remainder[outRows][outCols][nFilters];

    component dot[outRows][outCols][nFilters];
    for (var i = 0; i < outRows; i++) {
        for (var j = 0; j < outCols; j++) {
            for (var m = 0; m < nFilters; m++) {
                assert(remainder[i][j][m] < n);
                dot[i][j][m] = DotProduct(kernelSize * kernelSize * nChannels);
                for (var x = 0; x < kernelSize; x++) {
                    for (var y = 0; y < kernelSize; y++) {
                        for (var k = 0; k < nChannels; k++) {
                            var t = (x * kernelSize + y) * nChannels + k;
                            dot[i][j][m].a[t] <== in[i * strides + x][j * strides + y][k];
                            dot[i][j][m].b[t] <== weights[x][y][k][m];
                        }
                    }
                }
                out[i][j][m] * n + remainder[i][j][m] === dot[i][j][m].out + bias[m];
            }
        }
    }
}

// circomlib-ml ZeroPadding2D: constant zeros around the input (no constraint once circom folds them).
template ZeroPadding2D(nRows, nCols, nChannels, padTop, padBottom, padLeft, padRight) {
    signal input in[nRows][nCols][nChannels];
    signal output out[padTop + nRows + padBottom][padLeft + nCols + padRight][nChannels];
    for (var i = 0; i < padTop + nRows + padBottom; i++) {
        for (var j = 0; j < padLeft + nCols + padRight; j++) {
            for (var k = 0; k < nChannels; k++) {
                if (i < padTop || i >= padTop + nRows || j < padLeft || j >= padLeft + nCols) {
                    out[i][j][k] <== 0;
                } else {
                    out[i][j][k] <== in[i - padTop][j - padLeft][k];
                }
            }
        }
    }
}

// circomlib-ml util IsPositive: the sign of a field element from its full 254-bit decomposition.
template IsPositive() {
    signal input in;
    signal output out;
    component num2Bits = Num2Bits(254);
    num2Bits.in <== in;
    component sign = Sign();
    for (var i = 0; i < 254; i++) {
        sign.in[i] <== num2Bits.out[i];
    }
    out <== 1 - sign.sign;
}

// circomlib-ml ReLU: out (a prover-supplied input) must equal in · [in >= 0].
template ReLU() {
    signal input in;
    signal input out;
    component isPositive = IsPositive();
    isPositive.in <== in;
    out === in * isPositive.out;
}

// circomlib-ml util Max: a running maximum, one GreaterThan(252) and one Switcher per element.
template Max(n) {
    signal input in[n];
    signal output out;
    component gts[n];
    component switchers[n];
    signal maxs[n + 1];
    maxs[0] <== in[0];
    for (var i = 0; i < n; i++) {
        gts[i] = GreaterThan(252);
        gts[i].in[0] <== in[i];
        gts[i].in[1] <== maxs[i];
        switchers[i] = Switcher();
        switchers[i].sel <== gts[i].out;
        switchers[i].L <== maxs[i];
        switchers[i].R <== in[i];
        maxs[i + 1] <== switchers[i].outL;
    }
    out <== maxs[n];
}

// circomlib-ml MaxPooling2D (no padding, channels last).
template MaxPooling2D(nRows, nCols, nChannels, poolSize, strides) {
    var outRows = (nRows - poolSize) \ strides + 1;
    var outCols = (nCols - poolSize) \ strides + 1;
    signal input in[nRows][nCols][nChannels];
    signal input out[outRows][outCols][nChannels];
    component max[outRows][outCols][nChannels];
    for (var i = 0; i < outRows; i++) {
        for (var j = 0; j < outCols; j++) {
            for (var k = 0; k < nChannels; k++) {
                max[i][j][k] = Max(poolSize * poolSize);
                for (var x = 0; x < poolSize; x++) {
                    for (var y = 0; y < poolSize; y++) {
                        max[i][j][k].in[x * poolSize + y] <== in[i * strides + x][j * strides + y][k];
                    }
                }
                out[i][j][k] === max[i][j][k].out;
            }
        }
    }
}
