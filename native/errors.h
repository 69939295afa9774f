// Error translation. Rule: no C++ exception may leave a native entry point (an uncaught
// c10::Error aborts Node). Every entry point is registered through Entry<F>, which turns
// any exception into a JS TorchError (lib/errors.ts) with a code.
#pragma once
#include "pch.h"

namespace trnn {

struct ErrorInfo {
  std::string code;
  std::string message;
};

// An exception that carries its own error code (lib/errors.ts ErrorCode), for native code
// that knows better than ERR_TORCH: native/distributed throws ERR_DISTRIBUTED with it.
struct CodedError : std::runtime_error {
  CodedError(std::string code, const std::string& message) : std::runtime_error(message), code(std::move(code)) {}
  std::string code;
};

// Call inside a catch block: describes the exception being handled. Safe on any thread.
// CodedError keeps its code; Gloo's exceptions (a peer that died or timed out, wherever they
// surface: a collective, or a DDP backward) become ERR_DISTRIBUTED; the rest ERR_TORCH.
ErrorInfo DescribeCurrentException();

// Drops the "[file:line] " prefix of a Gloo message.
std::string CleanGlooMessage(const std::string& what);

// Builds a TorchError (or a plain Error with `code` before lib registered its class). JS thread.
Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message);

// A handle that lib/ validates first (a disposed tensor, a released module, an object of another
// kind) reached native code anyway: ERR_INVALID_ARG in lib/'s shape, "Expected <what> for <name>
// but received <value>". `emptied` describes a handle of the right kind whose object is gone.
Napi::Error InvalidHandle(const Napi::Value& v, const std::string& what, const std::string& name, bool ofThisKind,
                          const std::string& emptied);

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Entry(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    ErrorInfo e = DescribeCurrentException();
    throw MakeError(info.Env(), e.code, e.message);
  }
}

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
void Export(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, Entry<F>, name));
}

// Waits for the executor to run every queued job (addon.cc). See Ordered.
void WaitForExecutor(Napi::Env env);

// The busy rule (README "Async and threads"): a synchronous call that reads or writes tensor
// data, gradients, module state or the RNG is ordered after every async job queued before
// it: it waits for them, so a program gives the results it would give written synchronously.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Ordered(const Napi::CallbackInfo& info) {
  WaitForExecutor(info.Env());
  return F(info);
}

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
void ExportOrdered(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, Entry<Ordered<F>>, name));
}

}  // namespace trnn
