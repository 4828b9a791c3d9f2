// Pippenger multi-scalar multiplication with signed window digits, spread over std::thread workers by window.
#pragma once
#include <atomic>
#include <thread>
#include <vector>
#include "curve.h"

namespace zk {

inline void loadF(Fq& f, const uint8_t* p) { memcpy(f.v, p, 32); }
inline void loadF(Fq2& f, const uint8_t* p) { memcpy(f.c0.v, p, 32); memcpy(f.c1.v, p + 32, 32); }

unsigned threadCount();

// Window width minimising the estimated multiplications for scalars below 2^(bits-1): per window, ~6 per
// point (batch-affine addition) and ~27 per bucket (a mixed and a full addition in the running sums).
inline int chooseWindow(size_t n, int bits) {
  int best = 2; double bestCost = 1e300;
  for (int c = 2; c <= 16; c++) {
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
  // A point whose bucket already has an addition in the open batch waits for the next batch; one whose x
  // equals the bucket's (doubling or cancellation) goes to a Jacobian side bucket instead.
  auto work = [&]() {
    const size_t BATCH = 1024;
    struct Add { int32_t b; F x, y; };
    std::vector<F> bx(half), by(half);
    std::vector<uint8_t> filled(half);
    std::vector<J> side(half);
    std::vector<int64_t> mark(half);
    std::vector<Add> batch, deferred, again;
    std::vector<F> pre;
    batch.reserve(BATCH + 64);
    int64_t batchId = 0;
    auto feed = [&](int32_t b, const F& x, const F& y) {
      if (!filled[b]) { bx[b] = x; by[b] = y; filled[b] = 1; return; }
      if (mark[b] == batchId) { deferred.push_back({b, x, y}); return; }
      if (bx[b] == x) { side[b] = side[b].addMixed(x, y); return; }
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
      again.swap(deferred);
      deferred.clear();
      for (const Add& e : again) feed(e.b, e.x, e.y);
      again.clear();
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
      while (!batch.empty() || !deferred.empty()) flush();
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

// G1 with the GLV endomorphism phi(x, y) = (beta*x, y) = lambda*(x, y): each scalar k splits into k1 + k2*lambda
// with |k1|, |k2| < 2^127, so the MSM runs over 2n points with 128-bit scalars (half the windows).
inline G1 msmG1Glv(const uint8_t* points, const uint64_t* scalars, size_t n) {
  static const uint64_t BETA[4] = {0x5763473177fffffeULL, 0xd4f263f1acdb5c4fULL, 0x59e26bcea0d48bacULL, 0};
  const Fq beta = Fq::toMont(BETA);
  // lattice basis (a1, b1), (a2, b2) and g1 = floor(2^256 b2 / r), g2 = floor(-2^256 b1 / r)
  const u128 a1 = 9931322734385697763ULL;
  const u128 B1 = ((u128)0x6f4d8248eeb859fcULL << 64) | 0x8211bbeb7d4f1128ULL;  // -b1
  const u128 a2 = ((u128)0x6f4d8248eeb859fdULL << 64) | 0x0be4e1541221250bULL;
  const u128 b2 = 9931322734385697763ULL;
  const uint64_t G1c[2] = {0xd91d232ec7e0b3d7ULL, 0x2ULL};
  const uint64_t G2c[3] = {0x7a7bd9d4391eb18dULL, 0x4ccef014a773d2cfULL, 0x2ULL};
  std::vector<uint8_t> pts(2 * n * 64);
  std::vector<uint64_t> ks(2 * n * 4, 0);
  for (size_t i = 0; i < n; i++) {
    const uint64_t* k = scalars + 4 * i;
    // high part of k * g (k: 4 limbs, g: m limbs), bits 256..383
    auto mulHigh = [&](const uint64_t* g, int m) -> u128 {
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
    u128 c1 = mulHigh(G1c, 2), c2 = mulHigh(G2c, 3);
    u128 klo = ((u128)k[1] << 64) | k[0];
    u128 k1 = klo - c1 * a1 - c2 * a2;   // mod 2^128, |k1| < 2^127
    u128 k2 = c1 * B1 - c2 * b2;
    uint64_t n1 = (uint64_t)(k1 >> 127), n2 = (uint64_t)(k2 >> 127);
    if (n1) k1 = 0 - k1;
    if (n2) k2 = 0 - k2;
    ks[8 * i] = (uint64_t)k1; ks[8 * i + 1] = (uint64_t)(k1 >> 64);
    ks[8 * i + 4] = (uint64_t)k2; ks[8 * i + 5] = (uint64_t)(k2 >> 64);
    Fq x, y;
    loadF(x, points + 64 * i); loadF(y, points + 64 * i + 32);
    Fq ny = y.neg();
    Fq y1 = y, y2 = y;
    csel4(y1.v, 0 - n1, ny.v, y.v);
    csel4(y2.v, 0 - n2, ny.v, y.v);
    Fq bx = x * beta;
    uint8_t* o = pts.data() + 128 * i;
    memcpy(o, x.v, 32); memcpy(o + 32, y1.v, 32);
    memcpy(o + 64, bx.v, 32); memcpy(o + 96, y2.v, 32);
  }
  return msm<Fq>(pts.data(), ks.data(), 2 * n, 128);
}

}  // namespace zk
