// Entry point of the lilnet libtorch addon: registers the tensor handle class and every function.
#include "common.h"

namespace lilnet {

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallCachingAllocator();
  AddonData* data = new AddonData();
  data->tensorConstructor = Napi::Persistent(TensorHandle::DefineClass(env));
  env.SetInstanceData(data);
  exports.Set("TensorHandle", data->tensorConstructor.Value());
  RegisterTensorFunctions(env, exports);
  RegisterOpFunctions(env, exports);
  RegisterAutogradFunctions(env, exports);
  RegisterAllocatorFunctions(env, exports);
  return exports;
}

}  // namespace lilnet

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return lilnet::Init(env, exports); }

NODE_API_MODULE(lilnet_torch, InitAddon)
