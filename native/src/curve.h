// G1 (over Fq) and G2 (over Fq2) of BN254 in Jacobian coordinates, a = 0. Infinity: Z == 0.
#pragma once
#include "field.h"

namespace ZK_IMPL {

template <typename F>
struct Affine {
  F x, y;
  bool inf;
};

template <typename F>
struct Jac {
  F X, Y, Z;
  static Jac infinity() { return {F::one(), F::one(), F::zero()}; }
  inline bool isInf() const { return Z.isZero(); }
  static Jac fromAffine(const Affine<F>& a) {
    if (a.inf) return infinity();
    return {a.x, a.y, F::one()};
  }

  // dbl-2009-l (the formula is dblFormula below).
  inline Jac dbl() const {
    if (isInf()) return *this;
    return dblFormula();
  }

  // madd-2007-bl: this + (x2, y2) affine, not infinity.
  inline Jac addMixed(const F& x2, const F& y2) const {
    if (isInf()) return {x2, y2, F::one()};
    F Z1Z1 = Z.sqr();
    F U2 = x2 * Z1Z1;
    F S2 = y2 * Z * Z1Z1;
    F H = U2 - X;
    F rr = (S2 - Y).dbl();
    if (H.isZero()) {
      if (rr.isZero()) return dbl();
      return infinity();
    }
    F HH = H.sqr();
    F I = HH.dbl().dbl();
    F J = H * I;
    F V = X * I;
    Jac r;
    r.X = rr.sqr() - J - V.dbl();
    r.Y = rr * (V - r.X) - (Y * J).dbl();
    r.Z = (Z + H).sqr() - Z1Z1 - HH;
    return r;
  }

  // add-2007-bl (the formula is addFormula below).
  inline Jac add(const Jac& q) const {
    if (isInf()) return q;
    if (q.isInf()) return *this;
    return addFormula(q);
  }

  inline Jac neg() const { return {X, Y.neg(), Z}; }

  Affine<F> toAffine() const {
    if (isInf()) return {F::zero(), F::one(), true};
    F zi = Z.inv();
    F zi2 = zi.sqr();
    return {X * zi2, Y * zi2 * zi, false};
  }

  // Scalar multiplication by a plain (non-Montgomery) 256-bit scalar, for the secrets r and s: double and
  // add always, every choice made by a mask. dbl() and add() branch on infinity, which the accumulator is
  // until the scalar's top set bit, so they would reveal its bit length in time; here the doubling formula
  // runs as is (it keeps Z = 0, so infinity stays infinity) and the addition's infinity case is a masked
  // select. What still branches is add's H == 0 (accumulator = ±this), reached with probability ~2^-250.
  // From infinity the formula stays at (1, 1, 0), so H = -Z2^2 != 0 there. this must not be infinity (it is
  // delta, or A, B1 of a proof: infinity there only with negligible probability).
  Jac mulScalar(const uint64_t* k) const {
    Jac r = infinity();
    for (int i = 255; i >= 0; i--) {
      r = r.dblFormula();
      Jac t = r.addFormula(*this);
      cselJ(t, 0 - (uint64_t)r.Z.isZero(), *this, t);  // inf + this = this
      uint64_t bit = (k[i >> 6] >> (i & 63)) & 1;
      cselJ(r, 0 - bit, t, r);
    }
    return r;
  }
  // dbl-2009-l without the infinity test (Z = 0 in, Z = 0 out).
  inline Jac dblFormula() const {
    F A = X.sqr(), B = Y.sqr(), C = B.sqr();
    F D = ((X + B).sqr() - A - C).dbl();
    F E = A.dbl() + A;
    Jac r;
    r.X = E.sqr() - D.dbl();
    r.Y = E * (D - r.X) - C.dbl().dbl().dbl();
    r.Z = (Y * Z).dbl();
    return r;
  }
  // add-2007-bl without the infinity tests (garbage with Z = 0 when this is infinity; add() or the caller selects).
  inline Jac addFormula(const Jac& q) const {
    F Z1Z1 = Z.sqr(), Z2Z2 = q.Z.sqr();
    F U1 = X * Z2Z2, U2 = q.X * Z1Z1;
    F S1 = Y * q.Z * Z2Z2, S2 = q.Y * Z * Z1Z1;
    F H = U2 - U1;
    F rr = (S2 - S1).dbl();
    if (H.isZero()) {
      if (rr.isZero()) return dbl();
      return infinity();
    }
    F I = H.dbl().sqr();
    F J = H * I;
    F V = U1 * I;
    Jac r;
    r.X = rr.sqr() - J - V.dbl();
    r.Y = rr * (V - r.X) - (S1 * J).dbl();
    r.Z = ((Z + q.Z).sqr() - Z1Z1 - Z2Z2) * H;
    return r;
  }
  static inline void cselF(Fq& r, uint64_t m, const Fq& a, const Fq& b) { csel4(r.v, m, a.v, b.v); }
  static inline void cselF(Fq2& r, uint64_t m, const Fq2& a, const Fq2& b) {
    csel4(r.c0.v, m, a.c0.v, b.c0.v);
    csel4(r.c1.v, m, a.c1.v, b.c1.v);
  }
  static inline void cselJ(Jac& r, uint64_t m, const Jac& a, const Jac& b) {
    Jac o;
    cselF(o.X, m, a.X, b.X); cselF(o.Y, m, a.Y, b.Y); cselF(o.Z, m, a.Z, b.Z);
    r = o;
  }
};

typedef Affine<Fq> G1A;
typedef Affine<Fq2> G2A;
typedef Jac<Fq> G1;
typedef Jac<Fq2> G2;

}  // namespace ZK_IMPL
