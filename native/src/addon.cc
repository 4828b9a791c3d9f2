// Node-API boundary: every C++ exception becomes a thrown JS Error; nothing here aborts the process.
#include <node_api.h>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>
#include "groth16.h"

namespace {

struct Bytes { uint8_t* data = nullptr; size_t size = 0; };

bool getBytes(napi_env env, napi_value v, Bytes& out) {
  bool is = false;
  napi_is_buffer(env, v, &is);
  if (is) {
    void* d; size_t n;
    if (napi_get_buffer_info(env, v, &d, &n) != napi_ok) return false;
    out.data = (uint8_t*)d; out.size = n; return true;
  }
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type t; size_t len; void* d; napi_value ab; size_t off;
    if (napi_get_typedarray_info(env, v, &t, &len, &d, &ab, &off) != napi_ok || t != napi_uint8_array) return false;
    out.data = (uint8_t*)d; out.size = len; return true;
  }
  return false;
}

napi_value makeBuffer(napi_env env, const std::vector<uint8_t>& b) {
  napi_value res; void* d;
  napi_create_buffer_copy(env, b.size(), b.data(), &d, &res);
  return res;
}

template <typename Fn>
napi_value guarded(napi_env env, Fn fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, "E_NATIVE", "native prover: out of memory");
  } catch (const std::exception& e) {
    napi_throw_error(env, "E_NATIVE", (std::string("native prover: ") + e.what()).c_str());
  } catch (...) {
    napi_throw_error(env, "E_NATIVE", "native prover: unknown error");
  }
  return nullptr;
}

std::vector<napi_value> args(napi_env env, napi_callback_info info, size_t want) {
  std::vector<napi_value> a(want);
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, a.data(), nullptr, nullptr);
  if (argc < want) throw std::invalid_argument("expected " + std::to_string(want) + " arguments");
  return a;
}

Bytes bytesArg(napi_env env, napi_value v, const char* name) {
  Bytes b;
  if (!getBytes(env, v, b)) throw std::invalid_argument(std::string(name) + " must be a Buffer or Uint8Array");
  return b;
}

napi_value Prove(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() {
    auto a = args(env, info, 2);
    Bytes z = bytesArg(env, a[0], "zkey"), w = bytesArg(env, a[1], "wtns");
    return makeBuffer(env, zk::prove(z.data, z.size, w.data, w.size));
  });
}

template <int PSIZE, int OUT>
napi_value Msm(napi_env env, napi_callback_info info, void (*fn)(const uint8_t*, const uint8_t*, size_t, uint8_t*)) {
  return guarded(env, [&]() {
    auto a = args(env, info, 2);
    Bytes p = bytesArg(env, a[0], "points"), s = bytesArg(env, a[1], "scalars");
    if (p.size % PSIZE != 0 || s.size % 32 != 0 || p.size / PSIZE != s.size / 32) throw std::invalid_argument("points and scalars differ in count");
    std::vector<uint8_t> out(OUT);
    fn(p.data, s.data, s.size / 32, out.data());
    return makeBuffer(env, out);
  });
}
napi_value MsmG1(napi_env env, napi_callback_info info) { return Msm<64, 65>(env, info, zk::msmG1); }
napi_value MsmG2(napi_env env, napi_callback_info info) { return Msm<128, 129>(env, info, zk::msmG2); }

napi_value Ntt(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() {
    auto a = args(env, info, 2);
    Bytes d = bytesArg(env, a[0], "values");
    bool inverse = false;
    napi_get_value_bool(env, a[1], &inverse);
    if (d.size % 32 != 0) throw std::invalid_argument("values: not a whole number of 32-byte elements");
    std::vector<uint8_t> out(d.data, d.data + d.size);
    zk::nttBytes(out.data(), d.size / 32, inverse);
    return makeBuffer(env, out);
  });
}

// proveAsync(zkey, wtns) -> Promise<Buffer>: the proof runs on libuv's thread pool; the inputs are held by
// references until it completes, and errors reject the promise.
struct ProveJob {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  napi_ref zref = nullptr, wref = nullptr;
  Bytes z, w;
  std::vector<uint8_t> out;
  std::string error;
};

void ProveExecute(napi_env, void* data) {
  ProveJob* job = static_cast<ProveJob*>(data);
  try {
    job->out = zk::prove(job->z.data, job->z.size, job->w.data, job->w.size);
  } catch (const std::bad_alloc&) {
    job->error = "native prover: out of memory";
  } catch (const std::exception& e) {
    job->error = std::string("native prover: ") + e.what();
  } catch (...) {
    job->error = "native prover: unknown error";
  }
}

void ProveComplete(napi_env env, napi_status, void* data) {
  ProveJob* job = static_cast<ProveJob*>(data);
  if (job->error.empty()) {
    napi_resolve_deferred(env, job->deferred, makeBuffer(env, job->out));
  } else {
    napi_value msg, code, err;
    napi_create_string_utf8(env, job->error.c_str(), NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, "E_NATIVE", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, msg, &err);
    napi_reject_deferred(env, job->deferred, err);
  }
  napi_delete_reference(env, job->zref);
  napi_delete_reference(env, job->wref);
  napi_delete_async_work(env, job->work);
  delete job;
}

napi_value ProveAsync(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    auto a = args(env, info, 2);
    std::unique_ptr<ProveJob> job(new ProveJob());
    job->z = bytesArg(env, a[0], "zkey");
    job->w = bytesArg(env, a[1], "wtns");
    napi_value promise, name;
    if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) throw std::runtime_error("cannot create a promise");
    napi_create_reference(env, a[0], 1, &job->zref);
    napi_create_reference(env, a[1], 1, &job->wref);
    napi_create_string_utf8(env, "zkml_native.prove", NAPI_AUTO_LENGTH, &name);
    if (napi_create_async_work(env, nullptr, name, ProveExecute, ProveComplete, job.get(), &job->work) != napi_ok ||
        napi_queue_async_work(env, job->work) != napi_ok)
      throw std::runtime_error("cannot queue the proof");
    job.release();
    return promise;
  });
}

napi_value UsesAsm(napi_env env, napi_callback_info) {
  napi_value v;
  napi_get_boolean(env, zk::useAsm(), &v);
  return v;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"prove", nullptr, Prove, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"proveAsync", nullptr, ProveAsync, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"msmG1", nullptr, MsmG1, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"msmG2", nullptr, MsmG2, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"ntt", nullptr, Ntt, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"usesAsm", nullptr, UsesAsm, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
