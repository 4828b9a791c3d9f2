// Pippenger multi-scalar multiplication with signed window digits, spread over std::thread workers by window.
#pragma once
#include <atomic>
#include <thread>
#include <vector>
#include "curve.h"

namespace ZK_IMPL {

inline void loadF(Fq& f, const uint8_t* p) { memcpy(f.v, p, 32); }
inline void loadF(Fq2& f, const uint8_t* p) { memcpy(f.c0.v, p, 32); memcpy(f.c1.v, p + 32, 32); }

unsigned threadCount();

// Window width minimising the estimated multiplications for scalars below 2^(bits-1): per window, ~6 per
// point (batch-affine addition) and ~27 per bucket (a mixed and a full addition in the running sums). At most
// 14 bits: the count ignores memory, and from 2^15 buckets a thread's bucket state (~170 B each for G1, twice
// for G2) outgrows the caches; at 2^18 (2^19 split points) the count chose 16 bits, and G1 MSMs took ~1.65 s
// of CPU there against ~1.2 s at 14 bits (G2 about the same at either).
inline int chooseWindow(size_t n, int bits) {
  int best = 2; double bestCost = 1e300;
  for (int c = 2; c <= 14; c++) {
    double nwin = (bits + c - 1) / c;
    double cost = nwin * (6.0 * (double)n + 27.0 * (double)(1u << (c - 1)));
    if (cost < bestCost) { bestCost = cost; best = c; }
  }
  return best;
}

// points: n affine points stored as snarkjs' LEM (x, y; Montgomery, little endian), all-zero bytes meaning
// infinity. scalars: n plain scalars < 2^(bits-1) (4 limbs each; 255 bits for any scalar below r).
template <typename F>
Jac<F> msm(const uint8_t* points, const uint64_t* scalars, size_t n, int bits = 255) {
  typedef Jac<F> J;
  const size_t psize = sizeof(F) * 2;
  if (n == 0) return J::infinity();
  const int c = chooseWindow(n, bits);
  const int nwin = (bits + c - 1) / c;  // nwin * c >= bits: the top signed digit never carries out
  const int32_t half = 1 << (c - 1), full = 1 << c, maskc = full - 1;
  std::vector<int16_t> digits((size_t)n * nwin);
  for (size_t i = 0; i < n; i++) {
    const uint64_t* k = scalars + 4 * i;
    int32_t carry = 0;
    for (int w = 0; w < nwin; w++) {
      int bit = w * c;
      int limb = bit >> 6, off = bit & 63;
      uint64_t v = limb < 4 ? (k[limb] >> off) : 0;
      if (off + c > 64 && limb + 1 < 4) v |= k[limb + 1] << (64 - off);
      int32_t d = (int32_t)(v & maskc) + carry;
      // branch-free: carry = d > half
      carry = (half - d) >> 31 & 1;
      d -= carry * full;
      digits[i * nwin + w] = (int16_t)d;
    }
  }
  std::vector<J> winSum(nwin, J::infinity());
  std::atomic<int> next(0);
  // Per window, buckets are affine and additions into them are batched: one field inversion (Montgomery's
  // trick) serves a whole batch, so an addition costs about 6 multiplications instead of a mixed addition's 11.
  // A point whose bucket already has an addition in the open batch, or whose x equals the bucket's (doubling or
  // cancellation), goes to a Jacobian side bucket instead. Witnesses of ML circuits are mostly bits and small
  // integers, so one bucket can take most of the points of a window: making such points wait for later batches
  // (as this did first) re-queued them once per batch, quadratic in n.
  auto work = [&]() {
    const size_t BATCH = 1024;
    struct Add { int32_t b; F x, y; };
    std::vector<F> bx(half), by(half);
    std::vector<uint8_t> filled(half);
    std::vector<J> side(half);
    std::vector<int64_t> mark(half);
    std::vector<Add> batch;
    std::vector<F> pre;
    batch.reserve(BATCH + 64);
    int64_t batchId = 0;
    auto feed = [&](int32_t b, const F& x, const F& y) {
      if (!filled[b]) { bx[b] = x; by[b] = y; filled[b] = 1; return; }
      if (mark[b] == batchId || bx[b] == x) { side[b] = side[b].addMixed(x, y); return; }
      mark[b] = batchId;
      batch.push_back({b, x, y});
    };
    auto flush = [&]() {
      size_t m = batch.size();
      if (m > 0) {
        pre.resize(m);
        F accp = F::one();
        for (size_t k = 0; k < m; k++) { pre[k] = accp; accp = accp * (batch[k].x - bx[batch[k].b]); }
        F inv = accp.inv();
        for (size_t k = m; k-- > 0;) {
          const Add& e = batch[k];
          F d = e.x - bx[e.b];
          F dinv = inv * pre[k];
          inv = inv * d;
          F lambda = (e.y - by[e.b]) * dinv;
          F x3 = lambda.sqr() - bx[e.b] - e.x;
          by[e.b] = lambda * (bx[e.b] - x3) - by[e.b];
          bx[e.b] = x3;
        }
        batch.clear();
      }
      batchId++;
    };
    for (;;) {
      int w = next.fetch_add(1);
      if (w >= nwin) break;
      for (int32_t b = 0; b < half; b++) { filled[b] = 0; side[b] = J::infinity(); mark[b] = -1; }
      batchId = 0;
      for (size_t i = 0; i < n; i++) {
        int32_t d = digits[i * nwin + w];
        if (d == 0) continue;
        const uint8_t* p = points + i * psize;
        F x, y;
        loadF(x, p); loadF(y, p + psize / 2);
        if (x.isZero() && y.isZero()) continue;
        if (d > 0) feed(d - 1, x, y);
        else feed(-d - 1, x, y.neg());
        if (batch.size() >= BATCH) flush();
      }
      flush();
      J run = J::infinity(), acc = J::infinity();
      for (int b = half - 1; b >= 0; b--) {
        if (filled[b]) run = run.addMixed(bx[b], by[b]);
        if (!side[b].isInf()) run = run.add(side[b]);
        acc = acc.add(run);
      }
      winSum[w] = acc;
    }
  };
  unsigned nt = threadCount();
  if ((unsigned)nwin < nt) nt = nwin;
  if (n < 512) nt = 1;
  std::vector<std::thread> th;
  for (unsigned t = 1; t < nt; t++) th.emplace_back(work);
  work();
  for (auto& t : th) t.join();
  J total = J::infinity();
  for (int w = nwin - 1; w >= 0; w--) {
    for (int j = 0; j < c; j++) total = total.dbl();
    total = total.add(winSum[w]);
  }
  return total;
}

// An endomorphism phi with phi(P) = lambda*P splits each scalar k into k1 + k2*lambda (mod r), rounding against
// the short lattice basis (a1, -B1), (a2, b2) with c1 = floor(k g1 / 2^256), c2 = floor(k g2 / 2^256),
// g1 = floor(2^256 b2 / r), g2 = floor(2^256 B1 / r), so the MSM runs over 2n points with ~128-bit scalars:
// half the windows. Signs go into the points' y.
// The halves are not below 2^127: the floors (not Babai's rounding to nearest) and g's own rounding can each
// add a basis vector, so |k1|, |k2| reach ~1.74 * 2^127 (G2 goes past 2^127 for about 1 scalar in 10^5; G1
// came within 2.5% of it). They are computed exactly in 192-bit two's complement and the MSM takes 129-bit
// magnitudes (193 if a half were ever wider, which the bound rules out); a 128-bit sign bit was wrong there.
struct Lattice {
  u128 a1, B1, a2, b2;
  uint64_t g1[3]; int m1;
  uint64_t g2[3]; int m2;
};

// x += a*b or x -= a*b, modulo 2^192 (x three limbs, little endian).
inline void mulAcc192(uint64_t x[3], u128 a, u128 b, bool subtract) {
  const uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64), b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
  const u128 p00 = (u128)a0 * b0, p01 = (u128)a0 * b1, p10 = (u128)a1 * b0, p11 = (u128)a1 * b1;
  const u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
  const uint64_t p[3] = {(uint64_t)p00, (uint64_t)mid, (uint64_t)((mid >> 64) + (p01 >> 64) + (p10 >> 64) + (uint64_t)p11)};
  u128 carry = 0;
  for (int i = 0; i < 3; i++) {
    if (subtract) {
      const u128 d = (u128)x[i] - p[i] - carry;
      x[i] = (uint64_t)d;
      carry = (d >> 64) ? 1 : 0;  // a borrow wraps the top half
    } else {
      const u128 t = (u128)x[i] + p[i] + carry;
      x[i] = (uint64_t)t;
      carry = t >> 64;
    }
  }
}

// |x| of a 192-bit two's complement value, into x; returns 1 if x was negative. Branch-free.
inline uint64_t abs192(uint64_t x[3]) {
  const uint64_t neg = x[2] >> 63, m = 0 - neg;
  u128 carry = neg;
  for (int i = 0; i < 3; i++) {
    const u128 t = (u128)(x[i] ^ m) + carry;
    x[i] = (uint64_t)t;
    carry = t >> 64;
  }
  return neg;
}

template <typename F, typename Endo>
Jac<F> msmSplit(const uint8_t* points, const uint64_t* scalars, size_t n, const Lattice& L, Endo endo) {
  const size_t psize = 2 * sizeof(F);
  std::vector<uint8_t> pts(2 * n * psize);
  std::vector<uint64_t> ks(2 * n * 4, 0);
  uint64_t wide = 0;  // any half at or above 2^128
  for (size_t i = 0; i < n; i++) {
    const uint64_t* k = scalars + 4 * i;
    auto mulHigh = [&](const uint64_t* g, int m) -> u128 {  // bits 256..383 of k * g
      uint64_t prod[8] = {0};
      for (int x = 0; x < 4; x++) {
        u128 carry = 0;
        for (int y = 0; y < m; y++) {
          carry += (u128)k[x] * g[y] + prod[x + y];
          prod[x + y] = (uint64_t)carry;
          carry >>= 64;
        }
        prod[x + m] = (uint64_t)carry;
      }
      return ((u128)prod[5] << 64) | prod[4];
    };
    u128 c1 = mulHigh(L.g1, L.m1), c2 = mulHigh(L.g2, L.m2);
    uint64_t k1[3] = {k[0], k[1], k[2]}, k2[3] = {0, 0, 0};  // k1 = k - c1*a1 - c2*a2, k2 = c1*B1 - c2*b2
    mulAcc192(k1, c1, L.a1, true);
    mulAcc192(k1, c2, L.a2, true);
    mulAcc192(k2, c1, L.B1, false);
    mulAcc192(k2, c2, L.b2, true);
    const uint64_t n1 = abs192(k1), n2 = abs192(k2);
    wide |= k1[2] | k2[2];
    for (int j = 0; j < 3; j++) { ks[8 * i + j] = k1[j]; ks[8 * i + 4 + j] = k2[j]; }
    F x, y;
    loadF(x, points + psize * i); loadF(y, points + psize * i + sizeof(F));
    F ex = x, ey = y;
    endo(ex, ey);
    F ny = y.neg(), eny = ey.neg();
    Jac<F>::cselF(y, 0 - n1, ny, y);
    Jac<F>::cselF(ey, 0 - n2, eny, ey);
    uint8_t* o = pts.data() + 2 * psize * i;
    memcpy(o, &x, sizeof(F)); memcpy(o + sizeof(F), &y, sizeof(F));
    memcpy(o + psize, &ex, sizeof(F)); memcpy(o + psize + sizeof(F), &ey, sizeof(F));
  }
  return msm<F>(pts.data(), ks.data(), 2 * n, wide ? 193 : 129);
}

// G1: phi(x, y) = (beta*x, y), beta a cube root of unity in Fq.
inline G1 msmG1Glv(const uint8_t* points, const uint64_t* scalars, size_t n) {
  static const uint64_t BETA[4] = {0x5763473177fffffeULL, 0xd4f263f1acdb5c4fULL, 0x59e26bcea0d48bacULL, 0};
  const Fq beta = Fq::toMont(BETA);
  static const Lattice L = {
      9931322734385697763ULL,
      ((u128)0x6f4d8248eeb859fcULL << 64) | 0x8211bbeb7d4f1128ULL,
      ((u128)0x6f4d8248eeb859fdULL << 64) | 0x0be4e1541221250bULL,
      9931322734385697763ULL,
      {0xd91d232ec7e0b3d7ULL, 0x2ULL, 0}, 2,
      {0x7a7bd9d4391eb18dULL, 0x4ccef014a773d2cfULL, 0x2ULL}, 3};
  return msmSplit<Fq>(points, scalars, n, L, [&](Fq& x, Fq&) { x = x * beta; });
}

// G2: psi(x, y) = (conj(x)*gx, conj(y)*gy) with gx = xi^((q-1)/3), gy = xi^((q-1)/2), xi = 9 + u; on G2
// psi(P) = (q mod r)*P.
inline G2 msmG2Gls(const uint8_t* points, const uint64_t* scalars, size_t n) {
  static const uint64_t GX0[4] = {0x99e39557176f553dULL, 0xb78cc310c2c3330cULL, 0x4c0bec3cf559b143ULL, 0x2fb347984f7911f7ULL};
  static const uint64_t GX1[4] = {0x1665d51c640fcba2ULL, 0x32ae2a1d0b7c9dceULL, 0x4ba4cc8bd75a0794ULL, 0x16c9e55061ebae20ULL};
  static const uint64_t GY0[4] = {0xdc54014671a0135aULL, 0xdbaae0eda9c95998ULL, 0xdc5ec698b6e2f9b9ULL, 0x063cf305489af5dcULL};
  static const uint64_t GY1[4] = {0x82d37f632623b0e3ULL, 0x21807dc98fa25bd2ULL, 0x0704b5a7ec796f2bULL, 0x07c03cbcac41049aULL};
  const Fq2 gx = {Fq::toMont(GX0), Fq::toMont(GX1)}, gy = {Fq::toMont(GY0), Fq::toMont(GY1)};
  static const Lattice L = {
      ((u128)0x6f4d8248eeb859fbULL << 64) | 0xf83e9682e87cfd46ULL,
      1,
      ((u128)0x1ULL << 64) | 0x9d797039be763ba7ULL,
      ((u128)0x6f4d8248eeb859fdULL << 64) | 0x95b806bca6f338efULL,
      {0x2cb62031c8e01941ULL, 0x4ccef014a773d2d5ULL, 0x2ULL}, 3,
      {0x5ULL, 0, 0}, 1};
  return msmSplit<Fq2>(points, scalars, n, L, [&](Fq2& x, Fq2& y) {
    x = Fq2{x.c0, x.c1.neg()} * gx;
    y = Fq2{y.c0, y.c1.neg()} * gy;
  });
}

}  // namespace ZK_IMPL
