// The tensor handle, argument helpers, and the functions that move data between typed arrays and tensors.
#include "common.h"

#include <cstring>

namespace lilnet {

std::atomic<int64_t> TensorHandle::live_{0};

Napi::Function TensorHandle::DefineClass(Napi::Env env) {
  return ObjectWrap<TensorHandle>::DefineClass(
      env, "TensorHandle",
      {InstanceMethod("dispose", &TensorHandle::Dispose), InstanceMethod("isDisposed", &TensorHandle::IsDisposed)});
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {}

TensorHandle::~TensorHandle() { Release(); }

void TensorHandle::Release() {
  if (tensor_.has_value()) {
    tensor_.reset();
    live_.fetch_sub(1);
  }
}

int64_t TensorHandle::LiveCount() { return live_.load(); }

Napi::Object TensorHandle::NewInstance(Napi::Env env, at::Tensor tensor) {
  AddonData* data = env.GetInstanceData<AddonData>();
  Napi::Object object = data->tensorConstructor.New({});
  TensorHandle* handle = TensorHandle::Unwrap(object);
  handle->tensor_ = std::move(tensor);
  live_.fetch_add(1);
  return object;
}

bool TensorHandle::IsHandle(Napi::Env env, const Napi::Value& value) {
  if (!value.IsObject()) return false;
  AddonData* data = env.GetInstanceData<AddonData>();
  return value.As<Napi::Object>().InstanceOf(data->tensorConstructor.Value());
}

at::Tensor& TensorHandle::Tensor(const char* call) {
  if (!tensor_.has_value()) ThrowCallError(Env(), call, "tensor was already disposed");
  return *tensor_;
}

Napi::Value TensorHandle::Dispose(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

Napi::Value TensorHandle::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor_.has_value());
}

void ThrowCallError(Napi::Env env, const char* call, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, std::string(call) + ": " + message);
  error.Set("torchCall", Napi::String::New(env, call));
  throw error;
}

static void RequireArg(const Napi::CallbackInfo& info, size_t index, const char* call, const char* what) {
  if (info.Length() <= index) {
    ThrowCallError(info.Env(), call, "argument " + std::to_string(index) + " (" + what + ") is missing");
  }
}

at::Tensor& ArgTensor(const Napi::CallbackInfo& info, size_t index, const char* call) {
  RequireArg(info, index, call, "tensor");
  if (!TensorHandle::IsHandle(info.Env(), info[index])) {
    ThrowCallError(info.Env(), call, "argument " + std::to_string(index) + " is not a tensor handle");
  }
  return TensorHandle::Unwrap(info[index].As<Napi::Object>())->Tensor(call);
}

std::optional<at::Tensor> ArgOptionalTensor(const Napi::CallbackInfo& info, size_t index, const char* call) {
  if (info.Length() <= index || info[index].IsNull() || info[index].IsUndefined()) return std::nullopt;
  return ArgTensor(info, index, call);
}

std::vector<int64_t> ArgInts(const Napi::CallbackInfo& info, size_t index, const char* call) {
  RequireArg(info, index, call, "integer array");
  if (!info[index].IsArray()) {
    ThrowCallError(info.Env(), call, "argument " + std::to_string(index) + " is not an array of integers");
  }
  Napi::Array array = info[index].As<Napi::Array>();
  std::vector<int64_t> values(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array[i];
    if (!item.IsNumber()) {
      ThrowCallError(info.Env(), call, "argument " + std::to_string(index) + " contains a value that is not a number");
    }
    values[i] = item.As<Napi::Number>().Int64Value();
  }
  return values;
}

int64_t ArgInt(const Napi::CallbackInfo& info, size_t index, const char* call) {
  RequireArg(info, index, call, "integer");
  if (!info[index].IsNumber()) {
    ThrowCallError(info.Env(), call, "argument " + std::to_string(index) + " is not a number");
  }
  return info[index].As<Napi::Number>().Int64Value();
}

double ArgDouble(const Napi::CallbackInfo& info, size_t index, const char* call) {
  RequireArg(info, index, call, "number");
  if (!info[index].IsNumber()) {
    ThrowCallError(info.Env(), call, "argument " + std::to_string(index) + " is not a number");
  }
  return info[index].As<Napi::Number>().DoubleValue();
}

bool ArgBool(const Napi::CallbackInfo& info, size_t index, const char* call) {
  RequireArg(info, index, call, "boolean");
  if (!info[index].IsBoolean()) {
    ThrowCallError(info.Env(), call, "argument " + std::to_string(index) + " is not a boolean");
  }
  return info[index].As<Napi::Boolean>().Value();
}

std::vector<at::Tensor> ArgTensorList(const Napi::CallbackInfo& info, size_t index, const char* call) {
  RequireArg(info, index, call, "tensor array");
  if (!info[index].IsArray()) {
    ThrowCallError(info.Env(), call, "argument " + std::to_string(index) + " is not an array of tensors");
  }
  Napi::Array array = info[index].As<Napi::Array>();
  std::vector<at::Tensor> tensors;
  tensors.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array[i];
    if (!TensorHandle::IsHandle(info.Env(), item)) {
      ThrowCallError(info.Env(), call, "element " + std::to_string(i) + " is not a tensor handle");
    }
    tensors.push_back(TensorHandle::Unwrap(item.As<Napi::Object>())->Tensor(call));
  }
  return tensors;
}

Napi::Value Wrap(Napi::Env env, at::Tensor tensor) { return TensorHandle::NewInstance(env, std::move(tensor)); }

static void CheckElementCount(Napi::Env env, const char* call, size_t length, const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t size : shape) {
    if (size < 0) ThrowCallError(env, call, "shape has a negative dimension");
    count *= size;
  }
  if (static_cast<size_t>(count) != length) {
    ThrowCallError(env, call,
                   "the array has " + std::to_string(length) + " elements but the shape needs " +
                       std::to_string(count));
  }
}

// fromFloat32(data: Float32Array, shape: number[]) -> float32 tensor (a copy).
LILNET_FUNCTION(fromFloat32) {
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    ThrowCallError(info.Env(), call, "argument 0 is not a Float32Array");
  }
  Napi::Float32Array data = info[0].As<Napi::Float32Array>();
  std::vector<int64_t> shape = ArgInts(info, 1, call);
  CheckElementCount(info.Env(), call, data.ElementLength(), shape);
  at::Tensor tensor = at::empty(shape, at::kFloat);
  std::memcpy(tensor.data_ptr<float>(), data.Data(), data.ElementLength() * sizeof(float));
  return Wrap(info.Env(), tensor);
}

// fromFloat64(data: Float64Array, shape: number[]) -> float64 tensor (a copy).
LILNET_FUNCTION(fromFloat64) {
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    ThrowCallError(info.Env(), call, "argument 0 is not a Float64Array");
  }
  Napi::Float64Array data = info[0].As<Napi::Float64Array>();
  std::vector<int64_t> shape = ArgInts(info, 1, call);
  CheckElementCount(info.Env(), call, data.ElementLength(), shape);
  at::Tensor tensor = at::empty(shape, at::kDouble);
  std::memcpy(tensor.data_ptr<double>(), data.Data(), data.ElementLength() * sizeof(double));
  return Wrap(info.Env(), tensor);
}

// fromInt32(data: Int32Array, shape: number[]) -> int64 tensor (class labels, counters).
LILNET_FUNCTION(fromInt32) {
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowCallError(info.Env(), call, "argument 0 is not an Int32Array");
  }
  Napi::Int32Array data = info[0].As<Napi::Int32Array>();
  std::vector<int64_t> shape = ArgInts(info, 1, call);
  CheckElementCount(info.Env(), call, data.ElementLength(), shape);
  at::Tensor source = at::from_blob(data.Data(), shape, at::kInt);
  return Wrap(info.Env(), source.to(at::kLong));
}

// toFloat32Array(tensor) -> Float32Array copy of the values, cast to float32, in row-major order.
LILNET_FUNCTION(toFloat32Array) {
  at::Tensor tensor = ArgTensor(info, 0, call).detach().to(at::kFloat).contiguous();
  Napi::Float32Array out = Napi::Float32Array::New(info.Env(), tensor.numel());
  if (tensor.numel() > 0) std::memcpy(out.Data(), tensor.data_ptr<float>(), tensor.numel() * sizeof(float));
  return out;
}

// toFloat64Array(tensor) -> Float64Array copy of the values, cast to float64.
LILNET_FUNCTION(toFloat64Array) {
  at::Tensor tensor = ArgTensor(info, 0, call).detach().to(at::kDouble).contiguous();
  Napi::Float64Array out = Napi::Float64Array::New(info.Env(), tensor.numel());
  if (tensor.numel() > 0) std::memcpy(out.Data(), tensor.data_ptr<double>(), tensor.numel() * sizeof(double));
  return out;
}

LILNET_FUNCTION(shape) {
  at::Tensor& tensor = ArgTensor(info, 0, call);
  Napi::Array out = Napi::Array::New(info.Env(), tensor.dim());
  for (int64_t i = 0; i < tensor.dim(); ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), tensor.size(i)));
  return out;
}

LILNET_FUNCTION(dtype) {
  at::ScalarType type = ArgTensor(info, 0, call).scalar_type();
  const char* name = "other";
  if (type == at::kFloat) name = "float32";
  else if (type == at::kDouble) name = "float64";
  else if (type == at::kLong) name = "int64";
  else if (type == at::kInt) name = "int32";
  return Napi::String::New(info.Env(), name);
}

// zeros(shape, dtype: 'float32' | 'float64') -> tensor of zeros.
LILNET_FUNCTION(zeros) {
  std::vector<int64_t> shape = ArgInts(info, 0, call);
  std::string dtype = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "float32";
  at::ScalarType type = at::kFloat;
  if (dtype == "float64") type = at::kDouble;
  else if (dtype == "int64") type = at::kLong;
  else if (dtype != "float32") ThrowCallError(info.Env(), call, "unknown dtype '" + dtype + "'");
  return Wrap(info.Env(), at::zeros(shape, type));
}

// toDtype(tensor, dtype) -> a copy converted to float32, float64 or int64 (keeps autograd history).
LILNET_FUNCTION(toDtype) {
  at::Tensor& tensor = ArgTensor(info, 0, call);
  std::string dtype = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  at::ScalarType type;
  if (dtype == "float32") type = at::kFloat;
  else if (dtype == "float64") type = at::kDouble;
  else if (dtype == "int64") type = at::kLong;
  else ThrowCallError(info.Env(), call, "unknown dtype '" + dtype + "'");
  return Wrap(info.Env(), tensor.to(type, /*non_blocking=*/false, /*copy=*/true));
}

LILNET_FUNCTION(clone) { return Wrap(info.Env(), ArgTensor(info, 0, call).clone()); }

// copyInto(destination, source): copies the values of source into destination in place, without autograd.
LILNET_FUNCTION(copyInto) {
  at::Tensor& destination = ArgTensor(info, 0, call);
  at::Tensor& source = ArgTensor(info, 1, call);
  if (destination.sizes() != source.sizes()) {
    ThrowCallError(info.Env(), call, "shape " + c10::str(source.sizes()) + " does not match " + c10::str(destination.sizes()));
  }
  at::NoGradGuard noGrad;
  destination.copy_(source);
  return info.Env().Undefined();
}

LILNET_FUNCTION(liveTensorCount) { return Napi::Number::New(info.Env(), static_cast<double>(TensorHandle::LiveCount())); }

LILNET_FUNCTION(setNumThreads) {
  int64_t threads = ArgInt(info, 0, call);
  if (threads < 1) ThrowCallError(info.Env(), call, "thread count must be at least 1");
  at::set_num_threads(static_cast<int>(threads));
  return info.Env().Undefined();
}

LILNET_FUNCTION(getNumThreads) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

LILNET_FUNCTION(manualSeed) {
  torch::manual_seed(static_cast<uint64_t>(ArgInt(info, 0, call)));
  return info.Env().Undefined();
}

LILNET_FUNCTION(version) {
  return Napi::String::New(info.Env(), std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                                           "." + std::to_string(TORCH_VERSION_PATCH));
}

void RegisterTensorFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("fromFloat32", Napi::Function::New(env, fromFloat32, "fromFloat32"));
  exports.Set("fromFloat64", Napi::Function::New(env, fromFloat64, "fromFloat64"));
  exports.Set("fromInt32", Napi::Function::New(env, fromInt32, "fromInt32"));
  exports.Set("toFloat32Array", Napi::Function::New(env, toFloat32Array, "toFloat32Array"));
  exports.Set("toFloat64Array", Napi::Function::New(env, toFloat64Array, "toFloat64Array"));
  exports.Set("shape", Napi::Function::New(env, shape, "shape"));
  exports.Set("dtype", Napi::Function::New(env, dtype, "dtype"));
  exports.Set("zeros", Napi::Function::New(env, zeros, "zeros"));
  exports.Set("toDtype", Napi::Function::New(env, toDtype, "toDtype"));
  exports.Set("clone", Napi::Function::New(env, clone, "clone"));
  exports.Set("copyInto", Napi::Function::New(env, copyInto, "copyInto"));
  exports.Set("liveTensorCount", Napi::Function::New(env, liveTensorCount, "liveTensorCount"));
  exports.Set("setNumThreads", Napi::Function::New(env, setNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, getNumThreads, "getNumThreads"));
  exports.Set("manualSeed", Napi::Function::New(env, manualSeed, "manualSeed"));
  exports.Set("version", Napi::Function::New(env, version, "version"));
}

}  // namespace lilnet
