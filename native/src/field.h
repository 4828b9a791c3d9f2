// BN254 base field Fq and scalar field Fr: 4x64-bit limbs, Montgomery form (R = 2^256), CIOS multiplication.
#pragma once
// The prover is compiled twice (groth16.cc, groth16_adx.cc): ZK_IMPL names the copy's namespace and ZK_ASM
// selects the x86-64 BMI2/ADX multiplication; groth16.cc picks the copy at run time from cpuid.
#ifndef ZK_IMPL
#define ZK_IMPL zk_portable
#endif
#ifndef ZK_ASM
#define ZK_ASM 0
#endif
#include <cstdint>
#include <cstring>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

// The field operations are small and called from every curve formula: GCC left Fp's subtraction and
// addition out of line (called through the PLT: an addon is position-independent code), which perf showed
// as a quarter of the MSM's time. Forced inline they cost what their instructions do.
#ifndef ZK_INLINE
#define ZK_INLINE inline __attribute__((always_inline))
#endif

namespace ZK_IMPL {

typedef unsigned __int128 u128;

struct Modulus {
  uint64_t p[4];
  uint64_t inv;    // -p^-1 mod 2^64
  uint64_t r2[4];  // R^2 mod p
  uint64_t one[4]; // R mod p
};

// Plain multi-precision helpers (constant time: no data-dependent branches).
#if defined(__x86_64__)
static ZK_INLINE uint64_t add4(uint64_t* r, const uint64_t* a, const uint64_t* b) {
  unsigned long long t0, t1, t2, t3;
  unsigned char c = _addcarry_u64(0, a[0], b[0], &t0);
  c = _addcarry_u64(c, a[1], b[1], &t1);
  c = _addcarry_u64(c, a[2], b[2], &t2);
  c = _addcarry_u64(c, a[3], b[3], &t3);
  r[0] = t0; r[1] = t1; r[2] = t2; r[3] = t3;
  return c;
}
static ZK_INLINE uint64_t sub4(uint64_t* r, const uint64_t* a, const uint64_t* b) {
  unsigned long long t0, t1, t2, t3;
  unsigned char c = _subborrow_u64(0, a[0], b[0], &t0);
  c = _subborrow_u64(c, a[1], b[1], &t1);
  c = _subborrow_u64(c, a[2], b[2], &t2);
  c = _subborrow_u64(c, a[3], b[3], &t3);
  r[0] = t0; r[1] = t1; r[2] = t2; r[3] = t3;
  return c;
}
#else
static ZK_INLINE uint64_t add4(uint64_t* r, const uint64_t* a, const uint64_t* b) {
  u128 c = 0;
  for (int i = 0; i < 4; i++) { c += (u128)a[i] + b[i]; r[i] = (uint64_t)c; c >>= 64; }
  return (uint64_t)c;
}
static ZK_INLINE uint64_t sub4(uint64_t* r, const uint64_t* a, const uint64_t* b) {
  uint64_t borrow = 0;
  for (int i = 0; i < 4; i++) {
    u128 d = (u128)a[i] - b[i] - borrow;
    r[i] = (uint64_t)d;
    borrow = (uint64_t)(d >> 64) & 1;
  }
  return borrow;
}
#endif
// r = mask ? a : b
static ZK_INLINE void csel4(uint64_t* r, uint64_t mask, const uint64_t* a, const uint64_t* b) {
  for (int i = 0; i < 4; i++) r[i] = (a[i] & mask) | (b[i] & ~mask);
}

template <const Modulus& M>
struct Fp {
  uint64_t v[4];

  static Fp zero() { Fp r; r.v[0] = r.v[1] = r.v[2] = r.v[3] = 0; return r; }
  static Fp one() { Fp r; memcpy(r.v, M.one, 32); return r; }

  // a - p if a >= p (a < 2p assumed)
  static ZK_INLINE void reduce(uint64_t* a) {
    uint64_t t[4];
    uint64_t borrow = sub4(t, a, M.p);
    csel4(a, borrow - 1, t, a);  // borrow==0 -> mask all ones -> take t
  }
  friend ZK_INLINE Fp operator+(const Fp& a, const Fp& b) {
    Fp r; add4(r.v, a.v, b.v); reduce(r.v); return r;  // p < 2^254: no carry out
  }
  friend ZK_INLINE Fp operator-(const Fp& a, const Fp& b) {
    Fp r; uint64_t borrow = sub4(r.v, a.v, b.v);
    uint64_t t[4]; add4(t, r.v, M.p);
    csel4(r.v, 0 - borrow, t, r.v);
    return r;
  }
  ZK_INLINE Fp neg() const { return zero() - *this; }
  ZK_INLINE Fp dbl() const { return *this + *this; }
#if ZK_ASM
  // The same no-carry CIOS in x86-64 assembly (BMI2 mulx, ADX adcx/adox: two independent carry chains, one for
  // the low and one for the high halves of the products), ending with the branch-free subtraction of p (cmov).
  // Measured ~1.6x the throughput of the __int128 version (14 vs 23 ns on the CI-like EPYC). Only compiled
  // into the zk_adx copy of the prover, which runs when cpuid reports BMI2 and ADX (groth16.cc).
  static ZK_INLINE void mulAsm(uint64_t* r, const uint64_t* a, const uint64_t* b) {
    uint64_t t0, t1, t2, t3, t4, lo, hi, z;
    asm(
      "xorl %k[z], %k[z]\n\t"
      "movq 0(%[b]), %%rdx\n\t"
      "mulxq 0(%[a]), %[t0], %[t1]\n\t"
      "mulxq 8(%[a]), %[lo], %[t2]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "mulxq 16(%[a]), %[lo], %[t3]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "mulxq 24(%[a]), %[lo], %[t4]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adcxq %[z], %[t4]\n\t"
      "movq %[inv], %%rdx\n\t"
      "imulq %[t0], %%rdx\n\t"
      "xorl %k[lo], %k[lo]\n\t"
      "mulxq %[p0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[hi], %[t1]\n\t"
      "mulxq %[p1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[hi], %[t2]\n\t"
      "mulxq %[p2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "mulxq %[p3], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t4]\n\t"
      "adcxq %[z], %[t4]\n\t"
      "movq 8(%[b]), %%rdx\n\t"
      "xorl %k[lo], %k[lo]\n\t"
      "mulxq 0(%[a]), %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[hi], %[t2]\n\t"
      "mulxq 8(%[a]), %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "mulxq 16(%[a]), %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t4]\n\t"
      "mulxq 24(%[a]), %[lo], %[t0]\n\t"
      "adcxq %[lo], %[t4]\n\t"
      "adoxq %[z], %[t0]\n\t"
      "adcxq %[z], %[t0]\n\t"
      "movq %[inv], %%rdx\n\t"
      "imulq %[t1], %%rdx\n\t"
      "xorl %k[lo], %k[lo]\n\t"
      "mulxq %[p0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[hi], %[t2]\n\t"
      "mulxq %[p1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "mulxq %[p2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t4]\n\t"
      "mulxq %[p3], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t4]\n\t"
      "adoxq %[hi], %[t0]\n\t"
      "adcxq %[z], %[t0]\n\t"
      "movq 16(%[b]), %%rdx\n\t"
      "xorl %k[lo], %k[lo]\n\t"
      "mulxq 0(%[a]), %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "mulxq 8(%[a]), %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t4]\n\t"
      "mulxq 16(%[a]), %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t4]\n\t"
      "adoxq %[hi], %[t0]\n\t"
      "mulxq 24(%[a]), %[lo], %[t1]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[z], %[t1]\n\t"
      "adcxq %[z], %[t1]\n\t"
      "movq %[inv], %%rdx\n\t"
      "imulq %[t2], %%rdx\n\t"
      "xorl %k[lo], %k[lo]\n\t"
      "mulxq %[p0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "mulxq %[p1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t4]\n\t"
      "mulxq %[p2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t4]\n\t"
      "adoxq %[hi], %[t0]\n\t"
      "mulxq %[p3], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[hi], %[t1]\n\t"
      "adcxq %[z], %[t1]\n\t"
      "movq 24(%[b]), %%rdx\n\t"
      "xorl %k[lo], %k[lo]\n\t"
      "mulxq 0(%[a]), %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t4]\n\t"
      "mulxq 8(%[a]), %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t4]\n\t"
      "adoxq %[hi], %[t0]\n\t"
      "mulxq 16(%[a]), %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[hi], %[t1]\n\t"
      "mulxq 24(%[a]), %[lo], %[t2]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[z], %[t2]\n\t"
      "adcxq %[z], %[t2]\n\t"
      "movq %[inv], %%rdx\n\t"
      "imulq %[t3], %%rdx\n\t"
      "xorl %k[lo], %k[lo]\n\t"
      "mulxq %[p0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t4]\n\t"
      "mulxq %[p1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t4]\n\t"
      "adoxq %[hi], %[t0]\n\t"
      "mulxq %[p2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[hi], %[t1]\n\t"
      "mulxq %[p3], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[hi], %[t2]\n\t"
      "adcxq %[z], %[t2]\n\t"
      "movq %[t4], %[lo]\n\t"
      "subq %[p0], %[lo]\n\t"
      "movq %[t0], %[hi]\n\t"
      "sbbq %[p1], %[hi]\n\t"
      "movq %[t1], %[z]\n\t"
      "sbbq %[p2], %[z]\n\t"
      "movq %[t2], %[t3]\n\t"
      "sbbq %[p3], %[t3]\n\t"
      "cmovncq %[lo], %[t4]\n\t"
      "cmovncq %[hi], %[t0]\n\t"
      "cmovncq %[z], %[t1]\n\t"
      "cmovncq %[t3], %[t2]\n\t"
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [lo] "=&r"(lo), [hi] "=&r"(hi), [z] "=&r"(z)
        : [a] "r"(a), [b] "r"(b), "m"(*(const uint64_t(*)[4])a), "m"(*(const uint64_t(*)[4])b),
          [inv] "m"(M.inv), [p0] "m"(M.p[0]), [p1] "m"(M.p[1]), [p2] "m"(M.p[2]), [p3] "m"(M.p[3])
        : "rdx", "cc");
    r[0] = t4; r[1] = t0; r[2] = t1; r[3] = t2;
  }
  friend ZK_INLINE Fp operator*(const Fp& a, const Fp& b) { Fp r; mulAsm(r.v, a.v, b.v); return r; }
#else
  // CIOS Montgomery multiplication a*b*R^-1 mod p, in the no-carry form that p's spare top bits allow
  // (p[3] < 2^62 for both BN254 fields): the running value stays in 4 limbs.
  friend inline Fp operator*(const Fp& a, const Fp& b) {
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
#define ZK_MAC(out, acc, x, y, carry) { u128 _z = (u128)(x) * (y) + (acc) + (carry); out = (uint64_t)_z; carry = (uint64_t)(_z >> 64); }
    for (int i = 0; i < 4; i++) {
      const uint64_t bi = b.v[i];
      uint64_t A = 0, C = 0, lo;
      ZK_MAC(t0, t0, a.v[0], bi, A);
      const uint64_t m = t0 * M.inv;
      ZK_MAC(lo, t0, m, M.p[0], C);
      (void)lo;
      ZK_MAC(t1, t1, a.v[1], bi, A);
      ZK_MAC(t0, t1, m, M.p[1], C);
      ZK_MAC(t2, t2, a.v[2], bi, A);
      ZK_MAC(t1, t2, m, M.p[2], C);
      ZK_MAC(t3, t3, a.v[3], bi, A);
      ZK_MAC(t2, t3, m, M.p[3], C);
      t3 = C + A;
    }
#undef ZK_MAC
    Fp r; r.v[0] = t0; r.v[1] = t1; r.v[2] = t2; r.v[3] = t3;
    reduce(r.v);
    return r;
  }
#endif
  ZK_INLINE Fp sqr() const { return *this * *this; }
  inline bool isZero() const { return (v[0] | v[1] | v[2] | v[3]) == 0; }
  friend inline bool operator==(const Fp& a, const Fp& b) {
    return ((a.v[0] ^ b.v[0]) | (a.v[1] ^ b.v[1]) | (a.v[2] ^ b.v[2]) | (a.v[3] ^ b.v[3])) == 0;
  }
  static Fp fromRaw(const uint64_t* x) { Fp r; memcpy(r.v, x, 32); return r; }
  static Fp toMont(const uint64_t* x) { Fp a = fromRaw(x), b = fromRaw(M.r2); return a * b; }
  void fromMont(uint64_t* out) const {
    Fp o = zero(); o.v[0] = 1; Fp r = *this * o; memcpy(out, r.v, 32);
  }
  // exponent as plain 4 limbs; square-and-multiply-always.
  Fp pow(const uint64_t* e) const {
    Fp r = one();
    for (int i = 255; i >= 0; i--) {
      r = r.sqr();
      Fp t = r * *this;
      uint64_t bit = (e[i >> 6] >> (i & 63)) & 1;
      csel4(r.v, 0 - bit, t.v, r.v);
    }
    return r;
  }
  Fp inv() const {
    uint64_t e[4]; uint64_t two[4] = {2, 0, 0, 0};
    sub4(e, M.p, two);
    return pow(e);
  }
};

// Fills inv, r2, one from p.
inline void initModulus(Modulus& M) {
  uint64_t x = 1;  // Newton for p^-1 mod 2^64
  for (int i = 0; i < 7; i++) x *= 2 - M.p[0] * x;
  M.inv = 0 - x;
  // one = 2^256 mod p: start from 1 and double 256 times.
  uint64_t a[4] = {1, 0, 0, 0};
  for (int i = 0; i < 512; i++) {
    uint64_t t[4];
    add4(a, a, a);
    uint64_t borrow = sub4(t, a, M.p);
    csel4(a, borrow - 1, t, a);
    if (i == 255) memcpy(M.one, a, 32);
  }
  memcpy(M.r2, a, 32);
}

extern Modulus MQ, MR;
typedef Fp<MQ> Fq;
typedef Fp<MR> Fr;

struct Fq2 {
  Fq c0, c1;  // c0 + c1*u, u^2 = -1
  static Fq2 zero() { return {Fq::zero(), Fq::zero()}; }
  static Fq2 one() { return {Fq::one(), Fq::zero()}; }
  friend ZK_INLINE Fq2 operator+(const Fq2& a, const Fq2& b) { return {a.c0 + b.c0, a.c1 + b.c1}; }
  friend ZK_INLINE Fq2 operator-(const Fq2& a, const Fq2& b) { return {a.c0 - b.c0, a.c1 - b.c1}; }
  friend ZK_INLINE Fq2 operator*(const Fq2& a, const Fq2& b) {
    Fq t0 = a.c0 * b.c0, t1 = a.c1 * b.c1;
    Fq m = (a.c0 + a.c1) * (b.c0 + b.c1);
    return {t0 - t1, m - t0 - t1};
  }
  ZK_INLINE Fq2 sqr() const {
    Fq m = c0 * c1;
    return {(c0 + c1) * (c0 - c1), m + m};
  }
  ZK_INLINE Fq2 dbl() const { return *this + *this; }
  ZK_INLINE Fq2 neg() const { return {c0.neg(), c1.neg()}; }
  inline bool isZero() const { return c0.isZero() && c1.isZero(); }
  friend inline bool operator==(const Fq2& a, const Fq2& b) { return a.c0 == b.c0 && a.c1 == b.c1; }
  Fq2 inv() const {
    Fq n = (c0.sqr() + c1.sqr()).inv();
    return {c0 * n, (c1 * n).neg()};
  }
};

}  // namespace ZK_IMPL
