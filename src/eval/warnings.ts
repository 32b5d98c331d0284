/** Data-quality findings that an evaluation reports next to its metrics instead of hiding them. */

export type EvalWarningKind =
  | 'recorded-prediction-mismatch'
  | 'class-absent'
  | 'class-never-predicted'
  | 'non-finite-value'
  | 'duplicate-patient'
  | 'duplicate-image'
  | 'bootstrap-undefined'
  | 'reader-coverage'
  | 'patients-unpaired';

export interface EvalWarning {
  kind: EvalWarningKind;
  /** A full sentence for people. */
  message: string;
  /** The patients concerned, when the finding is about specific patients. */
  patients?: string[];
}

/** Lists up to `limit` identifiers, then how many more there are. */
export function listSome(items: readonly string[], limit = 10): string {
  if (items.length <= limit) return items.join(', ');
  return `${items.slice(0, limit).join(', ')} and ${items.length - limit} more`;
}
