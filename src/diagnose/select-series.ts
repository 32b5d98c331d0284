/**
 * Choice of the series a diagnosis reads. The LiLNet classifiers were trained on arterial (AP) and portal-venous
 * (PVP) crops, so those are the default phases. Series that are not CT in Hounsfield units or display-ready grey
 * images are left out with a warning. When a case contains several series of one phase, all but one are left
 * out with a warning too.
 */
import { LilnetError } from '../errors.ts';
import { PHASES, type CtCase, type Phase, type Series } from '../imaging/volume.ts';
import type { ReportWarning } from './report-types.ts';

export const DEFAULT_PHASES: readonly Phase[] = ['AP', 'PVP'];

const PHASE_ALIASES: Record<string, Phase> = {
  NC: 'NC',
  CT: 'NC',
  PLAIN: 'NC',
  AP: 'AP',
  ARTERIAL: 'AP',
  PVP: 'PVP',
  PV: 'PVP',
  VENOUS: 'PVP',
  DP: 'DP',
  DELAYED: 'DP',
  UNKNOWN: 'unknown',
};

/** Parses user phase names (`AP`, `pvp`, `CT` for non-contrast, ...), accepting comma-separated lists. */
export function parsePhases(names: readonly string[]): Phase[] {
  const phases: Phase[] = [];
  for (const name of names.flatMap((n) => n.split(','))) {
    const trimmed = name.trim();
    if (trimmed === '') continue;
    const phase = PHASE_ALIASES[trimmed.toUpperCase()];
    if (!phase) {
      throw new LilnetError('INVALID_ARGUMENT', `unknown phase "${trimmed}"`, {
        hint: `use phase names among ${[...PHASES, 'unknown'].join(', ')} (CT is accepted for NC)`,
      });
    }
    if (!phases.includes(phase)) phases.push(phase);
  }
  if (phases.length === 0)
    throw new LilnetError('INVALID_ARGUMENT', 'the phase list is empty', {
      hint: 'pass phases such as AP,PVP',
    });
  return phases;
}

export interface SeriesSelection {
  series: Series[];
  phasesMissing: Phase[];
  warnings: ReportWarning[];
}

/** Returns why a series cannot be diagnosed, or null when it can. */
export function unusableReason(series: Series): string | null {
  if (series.modality && series.modality.toUpperCase() !== 'CT')
    return `its modality is ${series.modality}, not CT`;
  if (series.unit === 'rescaled') return 'its values are not Hounsfield units';
  if (series.unit === 'label') return 'it holds segment labels, not an image';
  if (series.geometry.dimensions[2] < 1) return 'it has no slices';
  return null;
}

/**
 * Picks one series per phase. A null `requested` means the default, AP and PVP. When the case has neither,
 * every usable phase is taken with a warning (a case of one series of unknown phase, for instance).
 */
export function selectSeries(ctCase: CtCase, requested: readonly Phase[] | null): SeriesSelection {
  const warnings: ReportWarning[] = [];
  const usable: Series[] = [];
  const skipped: string[] = [];
  for (const series of ctCase.series) {
    const reason = unusableReason(series);
    if (reason) {
      const message = `series ${series.id} (${series.description ?? 'no description'}) was skipped because ${reason}`;
      warnings.push({ code: 'series-not-ct', message, phase: series.phase });
      skipped.push(message);
    } else {
      usable.push(series);
    }
  }
  if (usable.length === 0) {
    throw new LilnetError(
      'NO_USABLE_SERIES',
      `case ${ctCase.id} has no CT series to diagnose (${ctCase.series.length} series read): ${skipped.join('; ')}`,
      {
        hint: 'point lilnet at CT series in Hounsfield units (DICOM or NIfTI) or at folders of windowed slice images',
      },
    );
  }

  const available = new Set(usable.map((s) => s.phase));
  let phases: Phase[];
  let phasesMissing: Phase[] = [];
  if (requested) {
    phases = requested.filter((p) => available.has(p));
    phasesMissing = requested.filter((p) => !available.has(p));
    if (phases.length === 0) {
      throw new LilnetError(
        'NO_USABLE_SERIES',
        `case ${ctCase.id} has none of the requested phases ${requested.join(', ')}; it has ${[...available].join(', ')}`,
        {
          hint: `request phases the case has, e.g. --phases ${[...available].join(',')}`,
        },
      );
    }
    const untrained = phases.filter((p) => !DEFAULT_PHASES.includes(p));
    if (untrained.length > 0) {
      warnings.push({
        code: 'phase-untrained',
        message: `phases ${untrained.join(', ')} were requested, but the study's classifiers and the bundled models were trained on AP and PVP crops only`,
      });
    }
  } else {
    phases = DEFAULT_PHASES.filter((p) => available.has(p));
    phasesMissing = DEFAULT_PHASES.filter((p) => !available.has(p));
    if (phases.length === 0) {
      phases = [...available];
      warnings.push({
        code: 'phase-fallback',
        message: `the case has no arterial or portal-venous series, so phases ${phases.join(', ')} were used; the classifiers were trained on AP and PVP crops`,
      });
      phasesMissing = [];
    }
  }
  for (const phase of phasesMissing) {
    warnings.push({
      code: 'phase-missing',
      message: `phase ${phase} is missing from the case; the diagnosis uses ${phases.join(', ')}`,
      phase,
    });
  }

  const selected: Series[] = [];
  for (const phase of phases) {
    const candidates = usable.filter((s) => s.phase === phase);
    // Several series of one phase (a mixed-up export, a re-scan): the one with the most slices is kept.
    candidates.sort((a, b) => b.geometry.dimensions[2] - a.geometry.dimensions[2]);
    selected.push(candidates[0]);
    if (candidates.length > 1) {
      const ignored = candidates.slice(1).map((s) => `${s.id} (${s.geometry.dimensions[2]} slices)`);
      warnings.push({
        code: 'duplicate-phase',
        message: `the case has ${candidates.length} series of phase ${phase}; series ${candidates[0].id} (${candidates[0].geometry.dimensions[2]} slices) was used and ${ignored.join(', ')} ignored; use --phases or fix the phase labels if this is wrong`,
        phase,
      });
    }
  }
  return { series: selected, phasesMissing, warnings };
}
