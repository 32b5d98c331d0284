/**
 * Contrast phase identification. Rules, first match wins for each series:
 * 1. an explicit user mapping (series id, SeriesDescription or folder name to phase);
 * 2. the name of the series folder or one of its parents (the authors' `CT/`, `AP/`, `PVP/`, and variants);
 * 3. the DICOM SeriesDescription;
 * 4. a phase token in a slice image's file name (e.g. `p01-ap-01.jpg`);
 * 5. across the case, ContrastBolusAgent and AcquisitionTime: when some series have an agent, the one series
 *    without is NC, and two or three series with one are AP, PVP, DP in order of acquisition time.
 */
import { LilnetError } from '../errors.ts';
import { PHASES, type Phase, type PhaseSource } from './volume.ts';

/** Folder-name and description tokens per phase, upper case. `CT` alone is the authors' non-contrast folder. */
const FOLDER_TOKENS: Record<Exclude<Phase, 'unknown'>, string[]> = {
  NC: [
    'CT',
    'NC',
    'NCCT',
    'PLAIN',
    'NATIVE',
    'UNENHANCED',
    'NONCONTRAST',
    'NON-CONTRAST',
    'PRE',
    'PRECONTRAST',
    'PRE-CONTRAST',
    'PLAIN SCAN',
  ],
  AP: ['AP', 'ART', 'ARTERIAL', 'LAP', 'EAP', 'HAP', 'ARTERIAL PHASE', 'LATE ARTERIAL', 'EARLY ARTERIAL'],
  PVP: [
    'PVP',
    'PV',
    'VP',
    'PORTAL',
    'VENOUS',
    'PORTAL VENOUS',
    'PORTOVENOUS',
    'PORTAL-VENOUS',
    'VENOUS PHASE',
  ],
  DP: ['DP', 'DELAY', 'DELAYED', 'EQUILIBRIUM', 'EQ', 'DELAYED PHASE', 'LATE'],
};

/** Phrases searched in free text (SeriesDescription), most specific first so `late arterial` is AP, not DP. */
const DESCRIPTION_PATTERNS: [RegExp, Exclude<Phase, 'unknown'>][] = [
  [
    /\b(non[- ]?contrast|non[- ]?enhanced|unenhanced|without contrast|w\/o|plain|native|pre[- ]?contrast|precontrast|nc(ct)?)\b/i,
    'NC',
  ],
  [/\b(late|early|hepatic)?[- ]?arterial\b|\b(art|ap|lap|eap)\b/i, 'AP'],
  [/\bportal|\bportovenous\b|\bvenous\b|\b(pvp?|vp)\b/i, 'PVP'],
  [/\bdelay(ed)?\b|\bequilibrium\b|\b(dp|eq)\b|\blate\b/i, 'DP'],
];

export interface PhaseDecision {
  phase: Phase;
  source: PhaseSource;
}

/** Matches one folder name (exactly, ignoring case, `_` and spaces) against the phase folder names. */
export function phaseFromFolderName(name: string): Phase | undefined {
  const normalized = name.trim().toUpperCase().replace(/[_]+/g, ' ').replace(/\s+/g, ' ');
  for (const phase of PHASES) {
    const tokens = FOLDER_TOKENS[phase as Exclude<Phase, 'unknown'>];
    if (tokens.includes(normalized) || tokens.includes(normalized.replace(/ /g, ''))) return phase;
  }
  return undefined;
}

export function phaseFromDescription(description: string | undefined): Phase | undefined {
  if (!description) return undefined;
  for (const [pattern, phase] of DESCRIPTION_PATTERNS) if (pattern.test(description)) return phase;
  return undefined;
}

/** Finds a phase token between separators in a file name, e.g. `p01-ap-01.jpg` gives AP. */
export function phaseFromFileName(fileName: string): Phase | undefined {
  const stem = fileName.replace(/\.[^.]+$/, '');
  for (const token of stem.split(/[-_. ]+/)) {
    const phase = phaseFromFolderName(token);
    if (phase && token.toUpperCase() !== 'CT') return phase;
  }
  return undefined;
}

/** Parses a phase name given by a user (`NC`, `CT`, `AP`, `PVP`, `DP` and the folder variants). */
export function parsePhase(text: string): Phase {
  const phase = phaseFromFolderName(text);
  if (!phase) {
    throw new LilnetError('PHASE_MAPPING_INVALID', `phase "${text}" is not a known contrast phase`, {
      hint: 'use NC (or CT), AP, PVP or DP',
    });
  }
  return phase;
}

export interface PhaseEvidence {
  seriesId: string;
  /** Folder names from the series folder up to the case root, nearest first, ending with the root's own name. */
  folderNames: string[];
  description?: string;
  fileNames?: string[];
  contrastBolusAgent?: string;
  acquisitionTimeS?: number;
  /** True for DICOM series, whose contrast attributes are meaningful when absent. */
  isDicom: boolean;
  /**
   * True for label masks (DICOM SEG). They keep a phase from rules 1 to 4, but rule 5 neither assigns them one
   * nor counts their phase as taken, because a mask has no contrast attributes of its own.
   */
  isLabel?: boolean;
}

/** Decides the phase of one series from the mapping, folder names, description and file names (rules 1 to 4). */
export function identifyPhase(evidence: PhaseEvidence, mapping: Record<string, Phase> = {}): PhaseDecision {
  const mapped =
    mapping[evidence.seriesId] ??
    (evidence.description ? mapping[evidence.description] : undefined) ??
    evidence.folderNames.map((name) => mapping[name]).find((phase) => phase !== undefined);
  if (mapped) return { phase: mapped, source: 'user' };
  for (const name of evidence.folderNames) {
    const phase = phaseFromFolderName(name);
    if (phase) return { phase, source: 'folder-name' };
  }
  const fromDescription = phaseFromDescription(evidence.description);
  if (fromDescription) return { phase: fromDescription, source: 'series-description' };
  const fromFiles = new Set((evidence.fileNames ?? []).map(phaseFromFileName));
  if (fromFiles.size === 1) {
    const [phase] = fromFiles;
    if (phase) return { phase, source: 'file-name' };
  }
  return { phase: 'unknown', source: 'unknown' };
}

/**
 * Applies rule 5 to the DICOM image series left unknown. When some series carry a ContrastBolusAgent, the one
 * series without is NC. Two or three series with an agent become AP, PVP and DP in order of AcquisitionTime,
 * skipping phases other series already have. Returns one decision per evidence entry, in input order.
 */
export function identifyPhasesByContrastAndTime(
  evidence: PhaseEvidence[],
  decided: PhaseDecision[],
): PhaseDecision[] {
  const result = [...decided];
  const taken = new Set(
    decided
      .filter((decision, index) => !evidence[index].isLabel && decision.phase !== 'unknown')
      .map((decision) => decision.phase),
  );
  const open = evidence
    .map((entry, index) => ({ entry, index }))
    .filter(({ entry, index }) => entry.isDicom && !entry.isLabel && result[index].phase === 'unknown');
  if (open.length === 0) return result;

  // Contrast attributes tell phases apart only when the case mixes series with and without an agent, or has
  // several contrast series to rank by time. One contrast series alone could be any enhanced phase.
  const withAgent = open
    .filter(({ entry }) => entry.contrastBolusAgent && entry.acquisitionTimeS !== undefined)
    .sort((a, b) => a.entry.acquisitionTimeS! - b.entry.acquisitionTimeS!);
  const withoutAgent = open.filter(({ entry }) => !entry.contrastBolusAgent);
  const anyAgent = evidence.some((entry) => entry.isDicom && entry.contrastBolusAgent);
  if (anyAgent && withoutAgent.length === 1 && !taken.has('NC')) {
    result[withoutAgent[0].index] = { phase: 'NC', source: 'contrast-and-time' };
    taken.add('NC');
  }
  const freePhases = (['AP', 'PVP', 'DP'] as const).filter((phase) => !taken.has(phase));
  if (withAgent.length >= 2 && withAgent.length <= freePhases.length) {
    withAgent.forEach(({ index }, rank) => {
      result[index] = { phase: freePhases[rank], source: 'contrast-and-time' };
    });
  }
  return result;
}
