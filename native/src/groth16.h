#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace zk {
// out: 259 bytes: pi_a (x, y), pi_b (x.c0, x.c1, y.c0, y.c1), pi_c (x, y) as plain little-endian 32-byte
// integers, then three infinity flags, nPublic (u32 LE) and the nPublic public signals (32 bytes LE each).
// Throws std::runtime_error on a malformed file.
std::vector<uint8_t> prove(const uint8_t* zkey, size_t zkeySize, const uint8_t* wtns, size_t wtnsSize);
// Test hooks. points in snarkjs' LEM affine layout, scalars plain 32-byte LE; out: affine plain + flag.
void msmG1(const uint8_t* points, const uint8_t* scalars, size_t n, uint8_t* out);
void msmG2(const uint8_t* points, const uint8_t* scalars, size_t n, uint8_t* out);
// n Montgomery-form Fr elements in place.
void nttBytes(uint8_t* data, size_t n, bool inverse);
// True when the calls above run the BMI2/ADX copy (cpuid has both and ZKML_NATIVE_ASM is not "0").
bool useAsm();
}
