// Autograd control (gradients, backward, grad mode) and the SGD update with torch.optim.SGD's semantics.
#include "common.h"

namespace lilnet {

LILNET_FUNCTION(setRequiresGrad) {
  at::Tensor& x = ArgTensor(info, 0, call);
  x.set_requires_grad(ArgBool(info, 1, call));
  return info.Env().Undefined();
}

LILNET_FUNCTION(requiresGrad) { return Napi::Boolean::New(info.Env(), ArgTensor(info, 0, call).requires_grad()); }

// backward(x, gradOutput | null): a scalar x needs no gradOutput.
LILNET_FUNCTION(backward) {
  at::Tensor& x = ArgTensor(info, 0, call);
  std::optional<at::Tensor> gradOutput = ArgOptionalTensor(info, 1, call);
  x.backward(gradOutput.has_value() ? *gradOutput : at::Tensor());
  return info.Env().Undefined();
}

// grad(x) -> a new handle on x's accumulated gradient, or null when there is none.
LILNET_FUNCTION(grad) {
  at::Tensor& x = ArgTensor(info, 0, call);
  const at::Tensor& gradient = x.grad();
  if (!gradient.defined()) return info.Env().Null();
  return Wrap(info.Env(), gradient);
}

// zeroGrad(tensors, setToNone): clears gradients; setToNone drops them instead of filling with zeros.
LILNET_FUNCTION(zeroGrad) {
  std::vector<at::Tensor> tensors = ArgTensorList(info, 0, call);
  bool setToNone = ArgBool(info, 1, call);
  for (at::Tensor& tensor : tensors) {
    at::Tensor& gradient = tensor.mutable_grad();
    if (!gradient.defined()) continue;
    if (setToNone) {
      gradient.reset();
    } else {
      gradient.detach_();
      gradient.zero_();
    }
  }
  return info.Env().Undefined();
}

// setGradEnabled(enabled) -> the previous setting.
LILNET_FUNCTION(setGradEnabled) {
  bool previous = at::GradMode::is_enabled();
  at::GradMode::set_enabled(ArgBool(info, 0, call));
  return Napi::Boolean::New(info.Env(), previous);
}

LILNET_FUNCTION(isGradEnabled) { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); }

// sgdStep(params, momentumBuffers (tensor | null)[], lr, momentum, dampening, weightDecay, nesterov)
//   -> the momentum buffers after the step (the same handles where they existed, new handles on first use).
// The update is torch.optim.SGD's: d = grad + weightDecay * p; buf = d on first use, else
// momentum * buf + (1 - dampening) * d; d = nesterov ? d + momentum * buf : buf; p -= lr * d.
// Parameters without a gradient are skipped and keep their buffer.
LILNET_FUNCTION(sgdStep) {
  Napi::Env env = info.Env();
  std::vector<at::Tensor> params = ArgTensorList(info, 0, call);
  if (info.Length() < 2 || !info[1].IsArray()) ThrowCallError(env, call, "argument 1 is not an array");
  Napi::Array buffers = info[1].As<Napi::Array>();
  if (buffers.Length() != params.size()) ThrowCallError(env, call, "momentum buffer count differs from parameter count");
  double lr = ArgDouble(info, 2, call);
  double momentum = ArgDouble(info, 3, call);
  double dampening = ArgDouble(info, 4, call);
  double weightDecay = ArgDouble(info, 5, call);
  bool nesterov = ArgBool(info, 6, call);

  at::NoGradGuard noGrad;
  Napi::Array out = Napi::Array::New(env, params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor& param = params[i];
    Napi::Value bufferValue = buffers[static_cast<uint32_t>(i)];
    const at::Tensor& gradient = param.grad();
    if (!gradient.defined()) {
      out.Set(static_cast<uint32_t>(i), bufferValue.IsUndefined() ? env.Null() : bufferValue);
      continue;
    }
    at::Tensor step = weightDecay != 0 ? gradient.add(param, weightDecay) : gradient;
    if (momentum != 0) {
      if (bufferValue.IsNull() || bufferValue.IsUndefined()) {
        at::Tensor buffer = step.clone().detach();
        bufferValue = Wrap(env, buffer);
        step = nesterov ? step.add(buffer, momentum) : buffer;
      } else {
        if (!TensorHandle::IsHandle(env, bufferValue)) ThrowCallError(env, call, "a momentum buffer is not a tensor");
        at::Tensor& buffer = TensorHandle::Unwrap(bufferValue.As<Napi::Object>())->Tensor(call);
        buffer.mul_(momentum).add_(step, 1 - dampening);
        step = nesterov ? step.add(buffer, momentum) : buffer;
      }
    }
    param.add_(step, -lr);
    out.Set(static_cast<uint32_t>(i), bufferValue.IsUndefined() ? env.Null() : bufferValue);
  }
  return out;
}

void RegisterAutogradFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("setRequiresGrad", Napi::Function::New(env, setRequiresGrad, "setRequiresGrad"));
  exports.Set("requiresGrad", Napi::Function::New(env, requiresGrad, "requiresGrad"));
  exports.Set("backward", Napi::Function::New(env, backward, "backward"));
  exports.Set("grad", Napi::Function::New(env, grad, "grad"));
  exports.Set("zeroGrad", Napi::Function::New(env, zeroGrad, "zeroGrad"));
  exports.Set("setGradEnabled", Napi::Function::New(env, setGradEnabled, "setGradEnabled"));
  exports.Set("isGradEnabled", Napi::Function::New(env, isGradEnabled, "isGradEnabled"));
  exports.Set("sgdStep", Napi::Function::New(env, sgdStep, "sgdStep"));
}

}  // namespace lilnet
