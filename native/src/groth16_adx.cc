// The prover again, with the x86-64 BMI2/ADX field multiplication (field.h), in namespace zk_adx; groth16.cc
// calls it when cpuid reports both extensions. Nothing here on other architectures.
#if defined(__x86_64__)
#define ZK_IMPL zk_adx
#define ZK_ASM 1
#include "groth16.cc"
#endif
