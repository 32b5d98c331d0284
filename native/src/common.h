// Shared declarations of the lilnet libtorch addon: the JavaScript tensor handle and the helpers that convert
// arguments and translate C++ exceptions into JavaScript errors naming the failed call.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

namespace lilnet {

// A JavaScript handle that owns one at::Tensor. `dispose()` releases the tensor at once; a handle that is
// garbage-collected without being disposed releases it in its finaliser.
class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  static Napi::Object NewInstance(Napi::Env env, at::Tensor tensor);
  static bool IsHandle(Napi::Env env, const Napi::Value& value);
  static int64_t LiveCount();

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

  // Returns the tensor, throwing when the handle was disposed.
  at::Tensor& Tensor(const char* call);

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  void Release();

  std::optional<at::Tensor> tensor_;
  static std::atomic<int64_t> live_;
};

// Per-environment data: the constructor of TensorHandle.
struct AddonData {
  Napi::FunctionReference tensorConstructor;
};

// Throws a JavaScript Error whose `torchCall` property names the addon function that failed.
[[noreturn]] void ThrowCallError(Napi::Env env, const char* call, const std::string& message);

at::Tensor& ArgTensor(const Napi::CallbackInfo& info, size_t index, const char* call);
std::optional<at::Tensor> ArgOptionalTensor(const Napi::CallbackInfo& info, size_t index, const char* call);
std::vector<int64_t> ArgInts(const Napi::CallbackInfo& info, size_t index, const char* call);
int64_t ArgInt(const Napi::CallbackInfo& info, size_t index, const char* call);
double ArgDouble(const Napi::CallbackInfo& info, size_t index, const char* call);
bool ArgBool(const Napi::CallbackInfo& info, size_t index, const char* call);
std::vector<at::Tensor> ArgTensorList(const Napi::CallbackInfo& info, size_t index, const char* call);
Napi::Value Wrap(Napi::Env env, at::Tensor tensor);

void RegisterTensorFunctions(Napi::Env env, Napi::Object exports);
void RegisterOpFunctions(Napi::Env env, Napi::Object exports);
void RegisterAutogradFunctions(Napi::Env env, Napi::Object exports);
void RegisterAllocatorFunctions(Napi::Env env, Napi::Object exports);
// Makes libtorch allocate CPU tensors through lilnet's caching allocator (allocator.cc).
void InstallCachingAllocator();

}  // namespace lilnet

// Defines an addon function whose body runs with libtorch and C++ exceptions turned into JavaScript errors
// that name the call.
#define LILNET_FUNCTION(name)                                                   \
  static Napi::Value name##Body(const Napi::CallbackInfo& info, const char* call); \
  static Napi::Value name(const Napi::CallbackInfo& info) {                     \
    try {                                                                       \
      return name##Body(info, #name);                                           \
    } catch (const Napi::Error&) {                                              \
      throw;                                                                    \
    } catch (const c10::Error& error) {                                         \
      ::lilnet::ThrowCallError(info.Env(), #name, error.what_without_backtrace()); \
    } catch (const std::exception& error) {                                     \
      ::lilnet::ThrowCallError(info.Env(), #name, error.what());                \
    }                                                                           \
  }                                                                             \
  static Napi::Value name##Body(const Napi::CallbackInfo& info, const char* call)
