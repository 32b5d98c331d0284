/** Step learning-rate schedule (torch.optim.lr_scheduler.MultiStepLR): the rate is multiplied by `gamma` at each milestone epoch. */
export function learningRateAt(
  epoch: number,
  baseLr: number,
  milestones: readonly number[],
  gamma = 0.1,
): number {
  const passed = milestones.filter((milestone) => epoch >= milestone).length;
  return baseLr * gamma ** passed;
}
