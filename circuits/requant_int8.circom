pragma circom 2.1.0;

// Integer requantization of ONNX's QLinear ops (see src/gadgets/requant-int8.ts for the semantics and the plan):
//   out = clamp(round_half_to_even(in * m0 / 2^n) + zp, L + zp, H + zp)
//
// Parameters (all fixed by the plan from the interval of `in`):
//   n, m0       shift and multiplier (multiplying by m0 is linear: free);
//   b, base     the main decomposition w = in*m0 + 2^(n-1) - base*2^n has n + b bits; the high b bits are
//               r_up - base with r_up = floor((in*m0 + 2^(n-1)) / 2^n) (round half up); baseOdd = base mod 2;
//   tie         1: correct half up to half to even (r = r_up - d, d = 1 exactly at a tie with r_up odd);
//   lowMode,    where sL = [r_up >= TL] and sH = [r_up >= H + 1] come from: 0/1 constant, 2 the top bit of
//   highMode    the main decomposition (base aligns the threshold with it), 3 a decomposition of its own of c
//               bits of r_up - T + 2^(c-1), whose top bit is [r_up >= T];
//   TL          the low threshold: L + 1 with the tie correction (a tie at r_up = L gives L - 1), else L;
//   L, H, zp    clamp bounds relative to the zero point, and the zero point.
//
// Soundness: every bit is boolean-constrained and the weighted sums equal w (resp. r_up - T + 2^(c-1)), with
// n + b <= 250 and c <= 250 (the interval analysis bounds |in * m0| below 2^250), so each decomposition is the
// unique binary representation: r_up, the remainder and the comparison bits are fixed by `in`. d is an IsZero
// of m = remainder + 1 - parity(r_up) in [0, 2^n]: m != 0 forces d = 0 (m*d = 0) and then inv = 1/m; m = 0
// forces d = 1 (d = 1 - m*inv), inv being unused. The output is a fixed polynomial of these signals.
// max(r, L) = (r_up >= L + 1 ? r : L) and min(r, H) = (r_up >= H + 1 ? H : r) hold with or without the tie
// correction (without it r = r_up, and r_up >= L works as well), so the comparisons use r_up, whose bits are
// already there.
template ZkRequantInt8(n, m0, b, base, baseOdd, tie, lowMode, highMode, c, TL, L, H, zp) {
    signal input in;
    signal output out;

    var w = in * m0 + (n > 0 ? 2 ** (n - 1) : 0) - base * 2 ** n;
    signal bits[n + b];
    var sum = 0;
    var weight = 1;
    for (var i = 0; i < n + b; i++) {
        bits[i] <-- (w >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        sum += bits[i] * weight;
        weight += weight;
    }
    sum === w;

    var rup = base;
    weight = 1;
    for (var i = 0; i < b; i++) {
        rup += bits[n + i] * weight;
        weight += weight;
    }

    var r = rup;
    if (tie == 1) {
        var rem = 0;
        weight = 1;
        for (var i = 0; i < n; i++) {
            rem += bits[i] * weight;
            weight += weight;
        }
        // parity(r_up) = parity(base) xor the lowest quotient bit (base's parity is a parameter: a negative
        // base is a large field element whose representative has the opposite parity).
        var parity = baseOdd;
        if (b > 0) {
            parity = baseOdd + bits[n] * (1 - 2 * baseOdd);
        }
        var m = rem + 1 - parity;
        signal inv;
        signal d;
        inv <-- m != 0 ? 1 / m : 0;
        d <== 1 - m * inv;
        m * d === 0;
        r = rup - d;
    }

    var sL = lowMode;
    var sH = highMode;
    if (lowMode == 2) {
        sL = bits[n + b - 1];
    }
    if (highMode == 2) {
        sH = bits[n + b - 1];
    }
    // The comparison of its own (at most one side needs it).
    if (c > 0) {
        var T = lowMode == 3 ? TL : H + 1;
        var v = rup - T + 2 ** (c - 1);
        signal cbits[c];
        var csum = 0;
        weight = 1;
        for (var i = 0; i < c; i++) {
            cbits[i] <-- (v >> i) & 1;
            cbits[i] * (cbits[i] - 1) === 0;
            csum += cbits[i] * weight;
            weight += weight;
        }
        csum === v;
        if (lowMode == 3) {
            sL = cbits[c - 1];
        } else {
            sH = cbits[c - 1];
        }
    }

    // out - zp = L + sL*(r - L) - sH*(r - H): L below, r in between, H above. A constant side is linear.
    var aL = sL * (r - L);
    var aH = sH * (r - H);
    if (lowMode >= 2) {
        signal pL;
        pL <== sL * (r - L);
        aL = pL;
    }
    if (highMode >= 2) {
        signal pH;
        pH <== sH * (r - H);
        aH = pH;
    }
    out <== zp + L + aL - aH;
}
