/**
 * Compares a checkpoint's state dict with the parameter specs of a model, as `load_state_dict(strict=False)`
 * reports it in PyTorch: keys the model needs but the file lacks, keys the file has but the model does not use,
 * and keys whose shapes differ.
 */
import type { ParameterSpec } from '../ops.ts';

export interface StateDictComparison {
  /** Spec names absent from the state dict. */
  missing: string[];
  /** State-dict keys that no spec names (except the ignored ones). */
  unexpected: string[];
  /** Keys present on both sides with different shapes. */
  misshaped: { name: string; expectedShape: number[]; actualShape: number[] }[];
  /** State-dict keys that no spec names but that the model does not need, such as `num_batches_tracked`. */
  ignored: string[];
  /** True when nothing is missing, unexpected or mis-shaped. */
  matches: boolean;
}

export interface CompareOptions {
  /** Keys the model may lack without it being a mismatch; by default batch-norm `num_batches_tracked` counters. */
  isIgnorable?: (name: string) => boolean;
}

const isBatchCounter = (name: string): boolean => name.endsWith('.num_batches_tracked');

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Compares state-dict keys and shapes with `specs`; see {@link StateDictComparison}. */
export function compareStateDict(
  stateDict: ReadonlyMap<string, { shape: readonly number[] }>,
  specs: readonly ParameterSpec[],
  options: CompareOptions = {},
): StateDictComparison {
  const isIgnorable = options.isIgnorable ?? isBatchCounter;
  const specNames = new Set(specs.map((s) => s.name));
  const missing: string[] = [];
  const misshaped: StateDictComparison['misshaped'] = [];
  for (const spec of specs) {
    const entry = stateDict.get(spec.name);
    if (!entry) missing.push(spec.name);
    else if (!sameShape(entry.shape, spec.shape)) {
      misshaped.push({ name: spec.name, expectedShape: [...spec.shape], actualShape: [...entry.shape] });
    }
  }
  const unexpected: string[] = [];
  const ignored: string[] = [];
  for (const name of stateDict.keys()) {
    if (specNames.has(name)) continue;
    if (isIgnorable(name)) ignored.push(name);
    else unexpected.push(name);
  }
  return {
    missing,
    unexpected,
    misshaped,
    ignored,
    matches: missing.length === 0 && unexpected.length === 0 && misshaped.length === 0,
  };
}

/** Formats a comparison as one line per problem, for error messages and logs. */
export function describeStateDictComparison(comparison: StateDictComparison, limit = 8): string {
  const lines: string[] = [];
  const list = (names: string[]): string =>
    names.slice(0, limit).join(', ') + (names.length > limit ? `, ... (${names.length} in all)` : '');
  if (comparison.missing.length > 0) lines.push(`missing keys: ${list(comparison.missing)}`);
  if (comparison.unexpected.length > 0) lines.push(`unexpected keys: ${list(comparison.unexpected)}`);
  if (comparison.misshaped.length > 0) {
    const shown = comparison.misshaped
      .slice(0, limit)
      .map(
        (m) =>
          `${m.name} [${m.actualShape.join(', ')}] where the model needs [${m.expectedShape.join(', ')}]`,
      );
    lines.push(`mis-shaped keys: ${shown.join('; ')}${comparison.misshaped.length > limit ? '; ...' : ''}`);
  }
  return lines.join('\n');
}
