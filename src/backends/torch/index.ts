/** The libtorch backend: tensors, scopes, TorchOps, parameter stores and SGD. */
export { ADDON_PATH, isTorchAvailable, nativeTorch } from './native.ts';
export {
  TorchTensor,
  cachedTensorBytes,
  copyInto,
  emptyTensorCache,
  getNumThreads,
  int64Tensor,
  keep,
  liveTensorCount,
  noGrad,
  scope,
  setNumThreads,
  tensor,
  torchVersion,
  zeros,
  type TorchDtype,
} from './tensor.ts';
export { TorchOps } from './ops.ts';
export {
  ParameterStore,
  type LoadStateDictOptions,
  type ParameterStoreOptions,
  type StateDictEntry,
} from './parameters.ts';
export { Sgd, type SgdOptions } from './optim.ts';
export { captureTrainingCheckpoint, restoreSgdState, type CaptureOptions } from './training-state.ts';
export { lilnetTrainingStep, type LilnetStepLoss } from './train-step.ts';
