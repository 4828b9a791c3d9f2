// Groth16 proving from snarkjs' .zkey and .wtns files, following snarkjs 0.7 src/groth16_prove.js step for step.
#include "groth16.h"
#include <cstring>
#include <sys/random.h>  // getentropy (macOS declares it here; glibc also in unistd.h)
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>
#include <stdexcept>
#include <string>
#include <vector>
#include "msm.h"
#include <chrono>
#include <cstdlib>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace ZK_IMPL {

Modulus MQ = {{0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL}, 0, {0}, {0}};
Modulus MR = {{0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL}, 0, {0}, {0}};

static Fr rootsOfUnity[29];  // rootsOfUnity[k]: the primitive 2^k-th root ffjavascript uses (5^((r-1)/2^28) squared down)
static Fr frShift;           // ffjavascript's Fr.shift = nqr^2

static bool initAll() {
  initModulus(MQ);
  initModulus(MR);
  uint64_t t[4];
  uint64_t one[4] = {1, 0, 0, 0};
  sub4(t, MR.p, one);  // r - 1 = 2^28 * t
  for (int i = 0; i < 28; i++) {
    for (int j = 0; j < 3; j++) t[j] = (t[j] >> 1) | (t[j + 1] << 63);
    t[3] >>= 1;
  }
  uint64_t five[4] = {5, 0, 0, 0};
  Fr g = Fr::toMont(five);
  rootsOfUnity[28] = g.pow(t);
  for (int k = 27; k >= 0; k--) rootsOfUnity[k] = rootsOfUnity[k + 1].sqr();
  frShift = g.sqr();
  return true;
}
static bool inited = initAll();

unsigned threadCount() {
  unsigned n = std::thread::hardware_concurrency();
  if (n == 0) n = 1;
  if (n > 64) n = 64;
  return n;
}

// ---------------------------------------------------------------------------------------------------------
// NTT (radix 2, in place, natural order in and out)

static void bitReverse(Fr* a, size_t n, int logn) {
  for (size_t i = 0; i < n; i++) {
    size_t r = 0;
    for (int b = 0; b < logn; b++) r |= ((i >> b) & 1) << (logn - 1 - b);
    if (i < r) std::swap(a[i], a[r]);
  }
}

void ntt(Fr* a, size_t n, bool inverse) {
  if (n <= 1) return;
  int logn = 0;
  while (((size_t)1 << logn) < n) logn++;
  if (((size_t)1 << logn) != n || logn > 28) throw std::runtime_error("ntt: size is not a power of two up to 2^28");
  Fr w = rootsOfUnity[logn];
  if (inverse) w = w.inv();
  std::vector<Fr> tw(n / 2);
  tw[0] = Fr::one();
  for (size_t i = 1; i < n / 2; i++) tw[i] = tw[i - 1] * w;
  bitReverse(a, n, logn);
  for (size_t len = 2; len <= n; len <<= 1) {
    size_t half = len >> 1, step = n / len;
    for (size_t s = 0; s < n; s += len) {
      for (size_t j = 0; j < half; j++) {
        Fr u = a[s + j];
        Fr v = a[s + j + half] * tw[j * step];
        a[s + j] = u + v;
        a[s + j + half] = u - v;
      }
    }
  }
  if (inverse) {
    uint64_t nn[4] = {(uint64_t)n, 0, 0, 0};
    Fr ninv = Fr::toMont(nn).inv();
    for (size_t i = 0; i < n; i++) a[i] = a[i] * ninv;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Files

struct Reader {
  const uint8_t* data;
  size_t size;
  const char* what;
  [[noreturn]] void fail(const std::string& m) const { throw std::runtime_error(std::string(what) + ": " + m); }
  uint32_t u32(size_t off) const {
    if (off > size || size - off < 4) fail("truncated file");
    uint32_t v; memcpy(&v, data + off, 4); return v;
  }
  uint64_t u64(size_t off) const {
    if (off > size || size - off < 8) fail("truncated file");
    uint64_t v; memcpy(&v, data + off, 8); return v;
  }
};

struct Section { size_t off = 0, size = 0; bool present = false; };

static std::vector<Section> readSections(const Reader& r, const char* magic, uint32_t maxType) {
  if (r.size < 12 || memcmp(r.data, magic, 4) != 0) r.fail(std::string("not a ") + magic + " file (bad magic)");
  uint32_t nSections = r.u32(8);
  std::vector<Section> s(maxType + 1);
  size_t p = 12;
  for (uint32_t i = 0; i < nSections; i++) {
    uint32_t type = r.u32(p);
    uint64_t len = r.u64(p + 4);
    p += 12;
    if (len > r.size - p) r.fail("section " + std::to_string(type) + " runs past the end of the file (truncated?)");
    if (type <= maxType) {
      if (s[type].present) r.fail("section " + std::to_string(type) + " appears twice");
      s[type].off = p; s[type].size = (size_t)len; s[type].present = true;
    }
    p += (size_t)len;
  }
  return s;
}

static const Section& need(const Reader& r, const std::vector<Section>& s, uint32_t type, uint64_t size, const char* name) {
  if (!s[type].present) r.fail(std::string("missing section ") + std::to_string(type) + " (" + name + ")");
  if (s[type].size != size) r.fail(std::string("section ") + std::to_string(type) + " (" + name + ") has " + std::to_string(s[type].size) + " bytes, expected " + std::to_string(size));
  return s[type];
}

static void getRandomScalar(uint64_t* out) {
  for (int tries = 0; tries < 1000; tries++) {
    uint8_t b[32];
    // getentropy: the OS CSPRNG on Linux (glibc >= 2.25) and macOS alike, up to 256 bytes per call.
    if (getentropy(b, sizeof b) != 0) throw std::runtime_error(std::string("getentropy failed: ") + strerror(errno));
    memcpy(out, b, 32);
    out[3] &= 0x3fffffffffffffffULL;
    uint64_t t[4];
    if (sub4(t, out, MR.p)) return;  // out < r
  }
  throw std::runtime_error("random scalar: rejection sampling failed");
}

// scalar < 2^256 reduced below r (at most a few subtractions for hostile inputs)
static void reduceScalar(uint64_t* k) {
  for (int i = 0; i < 6; i++) {
    uint64_t t[4];
    uint64_t borrow = sub4(t, k, MR.p);
    csel4(k, borrow - 1, t, k);
  }
}

static void writeAffine(uint8_t* out, const G1& p) {
  G1A a = p.toAffine();
  if (a.inf) { memset(out, 0, 64); return; }
  uint64_t t[4];
  a.x.fromMont(t); memcpy(out, t, 32);
  a.y.fromMont(t); memcpy(out + 32, t, 32);
}
static void writeAffine(uint8_t* out, const G2& p) {
  G2A a = p.toAffine();
  if (a.inf) { memset(out, 0, 128); return; }
  uint64_t t[4];
  a.x.c0.fromMont(t); memcpy(out, t, 32);
  a.x.c1.fromMont(t); memcpy(out + 32, t, 32);
  a.y.c0.fromMont(t); memcpy(out + 64, t, 32);
  a.y.c1.fromMont(t); memcpy(out + 96, t, 32);
}

template <typename F>
static Jac<F> readPoint(const uint8_t* p) {
  Affine<F> a;
  loadF(a.x, p); loadF(a.y, p + sizeof(F));
  a.inf = a.x.isZero() && a.y.isZero();
  return Jac<F>::fromAffine(a);
}

std::vector<uint8_t> prove(const uint8_t* zk, size_t zkSize, const uint8_t* wt, size_t wtSize) {
  static const bool trace = getenv("ZKML_NATIVE_TRACE") != nullptr;
  auto t0 = std::chrono::steady_clock::now();
  auto mark = [&](const char* what) {
    if (!trace) return;
    auto t = std::chrono::steady_clock::now();
    fprintf(stderr, "zkml_native %s %.1f ms\n", what, std::chrono::duration<double, std::milli>(t - t0).count());
    t0 = t;
  };
  Reader z{zk, zkSize, "zkey"};
  Reader w{wt, wtSize, "wtns"};
  auto zs = readSections(z, "zkey", 10);
  auto ws = readSections(w, "wtns", 2);

  if (!zs[1].present || zs[1].size < 4) z.fail("missing section 1 (header)");
  if (z.u32(zs[1].off) != 1) z.fail("zkey file is not groth16");
  if (!zs[2].present) z.fail("missing section 2 (groth16 header)");
  const size_t hsize = 4 + 32 + 4 + 32 + 12 + 64 * 3 + 128 * 3;
  need(z, zs, 2, hsize, "groth16 header");
  size_t h = zs[2].off;
  if (z.u32(h) != 32 || memcmp(zk + h + 4, MQ.p, 32) != 0) z.fail("base field is not BN254's (bn128)");
  if (z.u32(h + 36) != 32 || memcmp(zk + h + 40, MR.p, 32) != 0) z.fail("scalar field is not BN254's (bn128)");
  uint32_t nVars = z.u32(h + 72), nPublic = z.u32(h + 76), domainSize = z.u32(h + 80);
  if ((uint64_t)nPublic + 1 > nVars) z.fail("nPublic + 1 exceeds nVars");
  if (domainSize == 0 || (domainSize & (domainSize - 1)) != 0 || domainSize > (1u << 28)) z.fail("domain size is not a power of two up to 2^28");
  int power = 0;
  while ((1u << power) < domainSize) power++;
  const uint8_t* hp = zk + h + 84;
  G1 alpha1 = readPoint<Fq>(hp), beta1 = readPoint<Fq>(hp + 64);
  G2 beta2 = readPoint<Fq2>(hp + 128);
  G1 delta1 = readPoint<Fq>(hp + 128 + 256);
  G2 delta2 = readPoint<Fq2>(hp + 128 + 256 + 64);

  if (!ws[1].present || ws[1].size < 40) w.fail("missing or short section 1 (header)");
  if (w.u32(ws[1].off) != 32) w.fail("field element size is not 32 bytes");
  if (ws[1].size != 40) w.fail("header section has an unexpected size");
  if (memcmp(wt + ws[1].off + 4, MR.p, 32) != 0) w.fail("Curve of the witness does not match the curve of the proving key");
  uint32_t nWitness = w.u32(ws[1].off + 36);
  if (nWitness != nVars) w.fail("Invalid witness length. Circuit: " + std::to_string(nVars) + ", witness: " + std::to_string(nWitness));
  need(w, ws, 2, (uint64_t)nVars * 32, "witness");

  if (!zs[4].present || zs[4].size < 4) z.fail("missing section 4 (coefficients)");
  uint32_t nCoef = z.u32(zs[4].off);
  need(z, zs, 4, 4 + (uint64_t)nCoef * 44, "coefficients");
  need(z, zs, 5, (uint64_t)nVars * 64, "A points");
  need(z, zs, 6, (uint64_t)nVars * 64, "B1 points");
  need(z, zs, 7, (uint64_t)nVars * 128, "B2 points");
  need(z, zs, 8, (uint64_t)(nVars - nPublic - 1) * 64, "C points");
  need(z, zs, 9, (uint64_t)domainSize * 64, "H points");

  // Witness, copied aligned and reduced below r.
  std::vector<uint64_t> wit((size_t)nVars * 4);
  memcpy(wit.data(), wt + ws[2].off, (size_t)nVars * 32);
  for (size_t i = 0; i < nVars; i++) reduceScalar(&wit[4 * i]);

  // A, B evaluations from the coefficients (Fr.mul of the stored coefficient and the plain witness value,
  // exactly as snarkjs' buildABC1), C = A*B pointwise.
  std::vector<Fr> A(domainSize, Fr::zero()), B(domainSize, Fr::zero()), C(domainSize);
  {
    const uint8_t* cp = zk + zs[4].off + 4;
    for (uint32_t i = 0; i < nCoef; i++, cp += 44) {
      uint32_t m, c, s;
      memcpy(&m, cp, 4); memcpy(&c, cp + 4, 4); memcpy(&s, cp + 8, 4);
      if (m > 1) z.fail("coefficient " + std::to_string(i) + " names matrix " + std::to_string(m));
      if (c >= domainSize) z.fail("coefficient " + std::to_string(i) + " names constraint " + std::to_string(c) + " outside the domain");
      if (s >= nVars) z.fail("coefficient " + std::to_string(i) + " names signal " + std::to_string(s) + " outside the witness");
      Fr coef; memcpy(coef.v, cp + 12, 32);
      Fr wv = Fr::fromRaw(&wit[4 * (size_t)s]);
      Fr& dst = m == 0 ? A[c] : B[c];
      dst = dst + coef * wv;
    }
  }
  for (size_t i = 0; i < domainSize; i++) C[i] = A[i] * B[i];
  mark("abc");

  // The odd coset: ifft, multiply by inc^i, fft.
  Fr inc = power == 28 ? frShift : rootsOfUnity[power + 1];
  auto toCoset = [&](std::vector<Fr>& v) {
    ntt(v.data(), domainSize, true);
    Fr k = Fr::one();
    for (size_t i = 0; i < domainSize; i++) { v[i] = v[i] * k; k = k * inc; }
    ntt(v.data(), domainSize, false);
  };
  {
    std::thread ta([&]() { toCoset(A); });
    std::thread tb([&]() { toCoset(B); });
    toCoset(C);
    ta.join(); tb.join();
  }
  // (A*B - C) out of Montgomery form: the H scalars (snarkjs' joinABC).
  std::vector<uint64_t> hs((size_t)domainSize * 4);
  for (size_t i = 0; i < domainSize; i++) (A[i] * B[i] - C[i]).fromMont(&hs[4 * i]);
  mark("ntt");
  std::vector<Fr>().swap(A); std::vector<Fr>().swap(B); std::vector<Fr>().swap(C);

  G1 piA = msmG1Glv(zk + zs[5].off, wit.data(), nVars);
  mark("msm A");
  G1 piB1 = msmG1Glv(zk + zs[6].off, wit.data(), nVars);
  mark("msm B1");
  G2 piB = msmG2Gls(zk + zs[7].off, wit.data(), nVars);
  mark("msm B2");
  G1 piC = msmG1Glv(zk + zs[8].off, wit.data() + 4 * ((size_t)nPublic + 1), nVars - nPublic - 1);
  mark("msm C");
  G1 resH = msmG1Glv(zk + zs[9].off, hs.data(), domainSize);

  mark("msm H");
  uint64_t r[4], s[4];
  getRandomScalar(r);
  getRandomScalar(s);
  piA = piA.add(alpha1).add(delta1.mulScalar(r));
  piB = piB.add(beta2).add(delta2.mulScalar(s));
  piB1 = piB1.add(beta1).add(delta1.mulScalar(s));
  // -(r*s) mod r as a plain scalar
  Fr rm = Fr::toMont(r), sm = Fr::toMont(s);
  uint64_t nrs[4];
  (rm * sm).neg().fromMont(nrs);
  piC = piC.add(resH).add(piA.mulScalar(s)).add(piB1.mulScalar(r)).add(delta1.mulScalar(nrs));
  // Wipe r, s and what follows from them: through a volatile function pointer, because a plain memset of
  // locals about to go out of scope is a dead store the compiler may drop.
  static void* (*const volatile wipe)(void*, int, size_t) = memset;
  wipe(r, 0, sizeof r); wipe(s, 0, sizeof s); wipe(nrs, 0, sizeof nrs);
  wipe(&rm, 0, sizeof rm); wipe(&sm, 0, sizeof sm);

  std::vector<uint8_t> res(259 + 4 + (size_t)nPublic * 32);
  uint8_t* out = res.data();
  writeAffine(out, piA);
  writeAffine(out + 64, piB);
  writeAffine(out + 192, piC);
  out[256] = piA.isInf(); out[257] = piB.isInf(); out[258] = piC.isInf();
  memcpy(out + 259, &nPublic, 4);
  // public signals: the witness bytes 1..nPublic as snarkjs reads them
  memcpy(out + 263, wt + ws[2].off + 32, (size_t)nPublic * 32);
  return res;
}

template <typename F>
static void msmOut(const uint8_t* points, const uint8_t* scalars, size_t n, uint8_t* out, Jac<F> (*fn)(const uint8_t*, const uint64_t*, size_t)) {
  std::vector<uint64_t> k(n * 4);
  memcpy(k.data(), scalars, n * 32);
  for (size_t i = 0; i < n; i++) reduceScalar(&k[4 * i]);
  Jac<F> p = fn(points, k.data(), n);
  writeAffine(out, p);
  out[sizeof(F) * 2] = p.isInf();
}
void msmG1(const uint8_t* points, const uint8_t* scalars, size_t n, uint8_t* out) { msmOut<Fq>(points, scalars, n, out, msmG1Glv); }
void msmG2(const uint8_t* points, const uint8_t* scalars, size_t n, uint8_t* out) { msmOut<Fq2>(points, scalars, n, out, msmG2Gls); }

void nttBytes(uint8_t* data, size_t n, bool inverse) {
  std::vector<Fr> a(n);
  memcpy(a.data(), data, n * 32);
  ntt(a.data(), n, inverse);
  memcpy(data, a.data(), n * 32);
}

}  // namespace ZK_IMPL

#if !ZK_ASM
// The public entry points (groth16.h): the BMI2/ADX copy when the CPU has both (cpuid leaf 7: EBX bits 8 and
// 19) and ZKML_NATIVE_ASM is not "0", else the portable one. Read on every call, so tests can run both.
#if defined(__x86_64__)
namespace zk_adx {
std::vector<uint8_t> prove(const uint8_t* zkey, size_t zkeySize, const uint8_t* wtns, size_t wtnsSize);
void msmG1(const uint8_t* points, const uint8_t* scalars, size_t n, uint8_t* out);
void msmG2(const uint8_t* points, const uint8_t* scalars, size_t n, uint8_t* out);
void nttBytes(uint8_t* data, size_t n, bool inverse);
}  // namespace zk_adx
#define ZK_DISPATCH(call) (zk::useAsm() ? zk_adx::call : zk_portable::call)
#else
#define ZK_DISPATCH(call) (zk_portable::call)
#endif

namespace zk {
bool useAsm() {
#if defined(__x86_64__)
  const char* env = getenv("ZKML_NATIVE_ASM");
  if (env && strcmp(env, "0") == 0) return false;
  static const bool has = []() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return ((b >> 8) & 1) && ((b >> 19) & 1);
  }();
  return has;
#else
  return false;
#endif
}
std::vector<uint8_t> prove(const uint8_t* zk, size_t zkSize, const uint8_t* wt, size_t wtSize) { return ZK_DISPATCH(prove(zk, zkSize, wt, wtSize)); }
void msmG1(const uint8_t* points, const uint8_t* scalars, size_t n, uint8_t* out) { ZK_DISPATCH(msmG1(points, scalars, n, out)); }
void msmG2(const uint8_t* points, const uint8_t* scalars, size_t n, uint8_t* out) { ZK_DISPATCH(msmG2(points, scalars, n, out)); }
void nttBytes(uint8_t* data, size_t n, bool inverse) { ZK_DISPATCH(nttBytes(data, n, inverse)); }
}  // namespace zk
#endif
