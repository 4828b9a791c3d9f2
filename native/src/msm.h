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

// Window width minimising windows * (points + buckets).
inline int chooseWindow(size_t n) {
  int best = 2; double bestCost = 1e300;
  for (int c = 2; c <= 16; c++) {
    double nwin = (255 + c - 1) / c;
    double cost = nwin * ((double)n + 2.0 * (double)(1u << (c - 1)));
    if (cost < bestCost) { bestCost = cost; best = c; }
  }
  return best;
}

// points: n affine points stored as snarkjs' LEM (x, y; Montgomery, little endian), all-zero bytes meaning
// infinity. scalars: n plain scalars < 2^254 (4 limbs each).
template <typename F>
Jac<F> msm(const uint8_t* points, const uint64_t* scalars, size_t n) {
  typedef Jac<F> J;
  const size_t psize = sizeof(F) * 2;
  if (n == 0) return J::infinity();
  const int c = chooseWindow(n);
  const int nwin = (255 + c - 1) / c;  // nwin * c >= 255: the top signed digit never carries out
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
  auto work = [&]() {
    std::vector<J> buckets(half);
    for (;;) {
      int w = next.fetch_add(1);
      if (w >= nwin) break;
      for (auto& b : buckets) b = J::infinity();
      for (size_t i = 0; i < n; i++) {
        int32_t d = digits[i * nwin + w];
        if (d == 0) continue;
        const uint8_t* p = points + i * psize;
        F x, y;
        loadF(x, p); loadF(y, p + psize / 2);
        if (x.isZero() && y.isZero()) continue;
        if (d > 0) buckets[d - 1] = buckets[d - 1].addMixed(x, y);
        else buckets[-d - 1] = buckets[-d - 1].addMixed(x, y.neg());
      }
      J run = J::infinity(), acc = J::infinity();
      for (int b = half - 1; b >= 0; b--) {
        run = run.add(buckets[b]);
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

}  // namespace zk
