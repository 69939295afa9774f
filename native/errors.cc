#include "errors.h"

#include "addon.h"

#if __has_include(<gloo/common/error.h>)
#include <gloo/common/error.h>
#define TORCHRNN_GLOO_ERRORS 1
#endif

namespace trnn {

// c10 messages end with "Exception raised from <fn> at <file>:<line> (most recent call first):"
// and a C++ backtrace in what(); what_without_backtrace() drops the backtrace, and we cut the
// location line too: users get libtorch's sentence only.
static std::string CleanTorchMessage(const c10::Error& e) {
  std::string msg = e.what_without_backtrace();
  auto cut = msg.find("\nException raised from");
  if (cut == std::string::npos) cut = msg.find("Exception raised from");
  if (cut != std::string::npos) msg.erase(cut);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

// Gloo prefixes its messages with the source location: "[/build/.../pair.cc:598] Connection
// closed by peer [127.0.0.1]:1234". Users get the sentence.
std::string CleanGlooMessage(const std::string& what) {
  std::string msg = what;
  if (!msg.empty() && msg[0] == '[') {
    auto close = msg.find("] ");
    if (close != std::string::npos && msg.find(':') < close) msg.erase(0, close + 2);
  }
  return msg;
}

ErrorInfo DescribeCurrentException() {
  try {
    throw;
  } catch (const CodedError& e) {
    return {e.code, e.what()};
#ifdef TORCHRNN_GLOO_ERRORS
  } catch (const gloo::Exception& e) {
    return {"ERR_DISTRIBUTED", CleanGlooMessage(e.what())};
#endif
  } catch (const c10::Error& e) {
    return {"ERR_TORCH", CleanTorchMessage(e)};
  } catch (const std::bad_alloc&) {
    return {"ERR_TORCH", "out of memory"};
  } catch (const std::exception& e) {
    return {"ERR_TORCH", e.what()};
  } catch (...) {
    return {"ERR_TORCH", "unknown native error"};
  }
}

Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message) {
  AddonData& data = Data(env);
  if (!data.errorCtor.IsEmpty()) {
    Napi::Object err = data.errorCtor.New({Napi::String::New(env, message), Napi::String::New(env, code)});
    return Napi::Error(env, err);
  }
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

// init({ TorchError }): lib/binding.ts registers its error class once per environment.
static Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Object opts = info[0].As<Napi::Object>();
  Data(info.Env()).errorCtor = Napi::Persistent(opts.Get("TorchError").As<Napi::Function>());
  return info.Env().Undefined();
}

void InitErrors(Napi::Env env, Napi::Object exports) {
  Export<Init>(env, exports, "init");
}

Napi::Error InvalidHandle(const Napi::Value& v, const std::string& what, const std::string& name, bool ofThisKind,
                          const std::string& emptied) {
  std::string received;
  if (ofThisKind) received = emptied;
  else {
    switch (v.Type()) {
      case napi_undefined: received = "undefined"; break;
      case napi_null: received = "null"; break;
      case napi_boolean: received = "a boolean"; break;
      case napi_number: received = "a number"; break;
      case napi_bigint: received = "a bigint"; break;
      case napi_string: received = "a string"; break;
      case napi_function: received = "a function"; break;
      default: received = "an object of another kind"; break;
    }
  }
  return MakeError(v.Env(), "ERR_INVALID_ARG", "Expected " + what + " for " + name + " but received " + received);
}

}  // namespace trnn
