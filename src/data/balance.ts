/**
 * Balances classes as the training recipe does before a run: the sample list of every smaller class is
 * repeated (whole copies, then a head slice) up to the size of the largest class. For example a class of 3
 * samples against 8 becomes its list twice plus its first 2 samples.
 */
export function balanceClasses<T>(samples: readonly T[], labelOf: (sample: T) => number): T[] {
  const byClass = new Map<number, T[]>();
  for (const sample of samples) {
    const label = labelOf(sample);
    const list = byClass.get(label);
    if (list) list.push(sample);
    else byClass.set(label, [sample]);
  }
  const largest = Math.max(0, ...[...byClass.values()].map((list) => list.length));
  const balanced: T[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = byClass.get(label)!;
    const copies = Math.floor(largest / list.length);
    for (let copy = 0; copy < copies; copy++) balanced.push(...list);
    balanced.push(...list.slice(0, largest - copies * list.length));
  }
  return balanced;
}
