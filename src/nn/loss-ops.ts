/**
 * Operations that training losses need beyond {@link Ops}: cutting the gradient path and the fused losses.
 * Only training backends (libtorch) implement them; exported inference graphs never contain a loss.
 */
import type { Ops } from './ops.ts';

export interface LossOps<T> extends Ops<T> {
  /** The same values with no gradient flowing back through them (as torch.Tensor.detach). */
  detach(x: T): T;
  /** Cross-entropy of logits `[N, C]` against class indices, averaged over the N rows (torch's default). */
  crossEntropy(logits: T, labels: Int32Array): T;
  /** `sum(p * (log p - logQ)) / N` for `logQ`, `p` of shape `[N, C]` (torch's KLDivLoss, reduction 'batchmean'). */
  klDivBatchmean(logQ: T, p: T): T;
}
