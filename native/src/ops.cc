// The tensor operations that the TypeScript models and losses call. Each one is a direct libtorch call, so
// autograd records it like any PyTorch operation.
#include "common.h"

namespace lilnet {

static std::vector<int64_t> Pair(const Napi::CallbackInfo& info, size_t index, const char* call) {
  std::vector<int64_t> values = ArgInts(info, index, call);
  if (values.size() != 2) ThrowCallError(info.Env(), call, "argument " + std::to_string(index) + " must hold 2 integers");
  return values;
}

// conv2d(x, weight, bias | null, stride[2], padding[2], dilation[2], groups)
LILNET_FUNCTION(conv2d) {
  at::Tensor& x = ArgTensor(info, 0, call);
  at::Tensor& weight = ArgTensor(info, 1, call);
  std::optional<at::Tensor> bias = ArgOptionalTensor(info, 2, call);
  return Wrap(info.Env(), at::conv2d(x, weight, bias.has_value() ? *bias : at::Tensor(), Pair(info, 3, call),
                                     Pair(info, 4, call), Pair(info, 5, call), ArgInt(info, 6, call)));
}

// batchNorm(x, weight, bias, runningMean, runningVar, training, momentum, eps). In training mode the running
// statistics are updated in place, as torch.nn.BatchNorm2d does.
LILNET_FUNCTION(batchNorm) {
  at::Tensor& x = ArgTensor(info, 0, call);
  at::Tensor& weight = ArgTensor(info, 1, call);
  at::Tensor& bias = ArgTensor(info, 2, call);
  at::Tensor& runningMean = ArgTensor(info, 3, call);
  at::Tensor& runningVar = ArgTensor(info, 4, call);
  bool training = ArgBool(info, 5, call);
  double momentum = ArgDouble(info, 6, call);
  double eps = ArgDouble(info, 7, call);
  return Wrap(info.Env(), at::batch_norm(x, weight, bias, runningMean, runningVar, training, momentum, eps,
                                         /*cudnn_enabled=*/true));
}

// linear(x, weight[out, in], bias | null)
LILNET_FUNCTION(linear) {
  at::Tensor& x = ArgTensor(info, 0, call);
  at::Tensor& weight = ArgTensor(info, 1, call);
  std::optional<at::Tensor> bias = ArgOptionalTensor(info, 2, call);
  return Wrap(info.Env(), at::linear(x, weight, bias.has_value() ? *bias : at::Tensor()));
}

// maxPool2d(x, kernel, stride, padding)
LILNET_FUNCTION(maxPool2d) {
  at::Tensor& x = ArgTensor(info, 0, call);
  int64_t kernel = ArgInt(info, 1, call);
  int64_t stride = ArgInt(info, 2, call);
  int64_t padding = ArgInt(info, 3, call);
  return Wrap(info.Env(), at::max_pool2d(x, {kernel, kernel}, {stride, stride}, {padding, padding}, {1, 1}, false));
}

// upsampleNearest2d(x, scale): integer scale factor on H and W.
LILNET_FUNCTION(upsampleNearest2d) {
  at::Tensor& x = ArgTensor(info, 0, call);
  int64_t scale = ArgInt(info, 1, call);
  if (x.dim() != 4) ThrowCallError(info.Env(), call, "input must be 4-dimensional NCHW");
  if (scale < 1) ThrowCallError(info.Env(), call, "scale must be a positive integer");
  return Wrap(info.Env(), at::upsample_nearest2d(x, {x.size(2) * scale, x.size(3) * scale}, static_cast<double>(scale),
                                                 static_cast<double>(scale)));
}

#define LILNET_UNARY(name, expression)                    \
  LILNET_FUNCTION(name) {                                 \
    at::Tensor& x = ArgTensor(info, 0, call);             \
    return Wrap(info.Env(), expression);                  \
  }

LILNET_UNARY(relu, at::relu(x))
LILNET_UNARY(silu, at::silu(x))
LILNET_UNARY(sigmoid, at::sigmoid(x))
LILNET_UNARY(exp, at::exp(x))
LILNET_UNARY(log, at::log(x))
LILNET_UNARY(neg, at::neg(x))
LILNET_UNARY(detach, x.detach())

LILNET_FUNCTION(softmax) {
  at::Tensor& x = ArgTensor(info, 0, call);
  return Wrap(info.Env(), at::softmax(x, ArgInt(info, 1, call)));
}

LILNET_FUNCTION(logSoftmax) {
  at::Tensor& x = ArgTensor(info, 0, call);
  return Wrap(info.Env(), at::log_softmax(x, ArgInt(info, 1, call)));
}

#define LILNET_BINARY(name, expression)                   \
  LILNET_FUNCTION(name) {                                 \
    at::Tensor& a = ArgTensor(info, 0, call);             \
    at::Tensor& b = ArgTensor(info, 1, call);             \
    return Wrap(info.Env(), expression);                  \
  }

LILNET_BINARY(add, at::add(a, b))
LILNET_BINARY(sub, at::sub(a, b))
LILNET_BINARY(mul, at::mul(a, b))
LILNET_BINARY(div, at::div(a, b))
LILNET_BINARY(matmul, at::matmul(a, b))

LILNET_FUNCTION(mulScalar) {
  at::Tensor& x = ArgTensor(info, 0, call);
  return Wrap(info.Env(), at::mul(x, ArgDouble(info, 1, call)));
}

LILNET_FUNCTION(addScalar) {
  at::Tensor& x = ArgTensor(info, 0, call);
  return Wrap(info.Env(), at::add(x, ArgDouble(info, 1, call)));
}

LILNET_FUNCTION(reshape) {
  at::Tensor& x = ArgTensor(info, 0, call);
  return Wrap(info.Env(), x.reshape(ArgInts(info, 1, call)));
}

LILNET_FUNCTION(permute) {
  at::Tensor& x = ArgTensor(info, 0, call);
  return Wrap(info.Env(), x.permute(ArgInts(info, 1, call)));
}

LILNET_FUNCTION(concat) {
  std::vector<at::Tensor> tensors = ArgTensorList(info, 0, call);
  return Wrap(info.Env(), at::cat(tensors, ArgInt(info, 1, call)));
}

// slice(x, dim, start, end): half-open range along one dimension (a view, as torch slicing).
LILNET_FUNCTION(slice) {
  at::Tensor& x = ArgTensor(info, 0, call);
  return Wrap(info.Env(), x.slice(ArgInt(info, 1, call), ArgInt(info, 2, call), ArgInt(info, 3, call)));
}

// sum(x, dims, keepDims): an empty dims array sums every element.
LILNET_FUNCTION(sum) {
  at::Tensor& x = ArgTensor(info, 0, call);
  std::vector<int64_t> dims = ArgInts(info, 1, call);
  bool keep = ArgBool(info, 2, call);
  if (dims.empty()) return Wrap(info.Env(), x.sum());
  return Wrap(info.Env(), at::sum(x, dims, keep));
}

// mean(x, dims, keepDims): an empty dims array averages every element.
LILNET_FUNCTION(mean) {
  at::Tensor& x = ArgTensor(info, 0, call);
  std::vector<int64_t> dims = ArgInts(info, 1, call);
  bool keep = ArgBool(info, 2, call);
  if (dims.empty()) return Wrap(info.Env(), x.mean());
  return Wrap(info.Env(), at::mean(x, dims, keep));
}

// crossEntropy(logits[N, C], labels int64[N]) -> mean over rows, as torch.nn.CrossEntropyLoss().
LILNET_FUNCTION(crossEntropy) {
  at::Tensor& logits = ArgTensor(info, 0, call);
  at::Tensor& labels = ArgTensor(info, 1, call);
  return Wrap(info.Env(), at::nll_loss(at::log_softmax(logits, 1), labels));
}

// klDivBatchmean(logQ[N, C], p[N, C]) -> sum(p * (log p - logQ)) / N, as torch.nn.KLDivLoss('batchmean').
LILNET_FUNCTION(klDivBatchmean) {
  at::Tensor& logQ = ArgTensor(info, 0, call);
  at::Tensor& p = ArgTensor(info, 1, call);
  if (logQ.dim() < 1) ThrowCallError(info.Env(), call, "input must have a batch dimension");
  return Wrap(info.Env(), at::kl_div(logQ, p, at::Reduction::Sum, /*log_target=*/false) / logQ.size(0));
}

void RegisterOpFunctions(Napi::Env env, Napi::Object exports) {
#define LILNET_EXPORT(name) exports.Set(#name, Napi::Function::New(env, name, #name))
  LILNET_EXPORT(conv2d);
  LILNET_EXPORT(batchNorm);
  LILNET_EXPORT(linear);
  LILNET_EXPORT(maxPool2d);
  LILNET_EXPORT(upsampleNearest2d);
  LILNET_EXPORT(relu);
  LILNET_EXPORT(silu);
  LILNET_EXPORT(sigmoid);
  LILNET_EXPORT(exp);
  LILNET_EXPORT(log);
  LILNET_EXPORT(neg);
  LILNET_EXPORT(detach);
  LILNET_EXPORT(softmax);
  LILNET_EXPORT(logSoftmax);
  LILNET_EXPORT(add);
  LILNET_EXPORT(sub);
  LILNET_EXPORT(mul);
  LILNET_EXPORT(div);
  LILNET_EXPORT(matmul);
  LILNET_EXPORT(mulScalar);
  LILNET_EXPORT(addScalar);
  LILNET_EXPORT(reshape);
  LILNET_EXPORT(permute);
  LILNET_EXPORT(concat);
  LILNET_EXPORT(slice);
  LILNET_EXPORT(sum);
  LILNET_EXPORT(mean);
  LILNET_EXPORT(crossEntropy);
  LILNET_EXPORT(klDivBatchmean);
#undef LILNET_EXPORT
}

}  // namespace lilnet
