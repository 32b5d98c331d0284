/**
 * The diagnosis report: what `diagnoseCase` returns and writes as `report.json`. The layout is versioned by
 * {@link REPORT_SCHEMA_VERSION} and documented field by field in docs/report-schema.md; any change to these
 * types changes that version and that page.
 *
 * Coordinates: boxes are in pixels of the slice as stored in the series (x = column, y = row, half-open
 * [x1, x2) x [y1, y2)), slice indices are z in the series' sorted order (z = 0 first along the slice normal).
 */
import type { DisplayWindow, Phase, PhaseSource, VoxelUnit } from '../imaging/volume.ts';

/** Semantic version of the report layout; bump the major part on any change that breaks a reader. */
export const REPORT_SCHEMA_VERSION = '1.1.0';

export const MALIGNANT_SUBTYPES = ['HCC', 'ICC', 'MET'] as const;
export const BENIGN_SUBTYPES = ['FNH', 'HEM', 'CYST'] as const;
/** The six diagnostic classes, malignant first, in the order every six-class array of the report uses. */
export const LESION_CLASSES = [...MALIGNANT_SUBTYPES, ...BENIGN_SUBTYPES] as const;

export type MalignantSubtype = (typeof MALIGNANT_SUBTYPES)[number];
export type BenignSubtype = (typeof BENIGN_SUBTYPES)[number];
export type LesionClass = (typeof LESION_CLASSES)[number];
export type Branch = 'benign' | 'malignant';

/** The four model slots of a diagnosis. */
export type ModelRole = 'detector' | 'benign-malignant' | 'malignant-subtype' | 'benign-subtype';
export const MODEL_ROLES: readonly ModelRole[] = [
  'detector',
  'benign-malignant',
  'malignant-subtype',
  'benign-subtype',
];

/** The model that filled one slot, as the report states it. */
export interface ModelInfo {
  role: ModelRole;
  /** File name inside the models folder (never an absolute path, which may name a user or hospital). */
  file: string;
  /** `onnx`, lilnet's own checkpoint, or a PyTorch `.pth.tar` converted to ONNX on first use. */
  format: 'onnx' | 'lilnet-checkpoint' | 'pytorch-checkpoint';
  /** e.g. `LiLNet/ResNet-50`, `LiLNet/ResNet-50 width 0.25`, `ResNet-50`, `YOLOv8`. */
  architecture: string;
  /** First 16 hex digits of the SHA-256 of the model file: two reports with equal versions used equal weights. */
  version: string;
  /** Classes of the model's output columns, in order. */
  classes: string[];
  /** True for the bundled demo models, trained on synthetic phantoms. */
  demo: boolean;
  /** Free-text provenance from the models folder's manifest, e.g. the training command. */
  trainedOn?: string;
}

/** A finding that did not stop the diagnosis but limits it; also printed on stderr. */
export interface ReportWarning {
  /** A code from ERROR_CODES when the finding has one, else a short kebab-case tag such as `phase-missing`. */
  code: string;
  message: string;
  phase?: Phase;
  /** A file name (base name only) the warning concerns. */
  file?: string;
}

export interface PixelBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** One detector box of a lesion on one slice. */
export interface SliceBox {
  sliceIndex: number;
  box: PixelBox;
  /** Detector confidence in [0, 1]. */
  confidence: number;
}

/** Mean aggregated logits of a classifier over a set of crops, with their softmax. */
export interface ClassifierOutput {
  role: Exclude<ModelRole, 'detector'>;
  classes: string[];
  /** Mean over crops of the aggregated logits (raw, no softmax), as the LiLNet study scores a patient. */
  meanLogits: number[];
  /** softmax(meanLogits). */
  probabilities: number[];
  /** Number of crops averaged. */
  cropCount: number;
}

/**
 * The two-stage classification of one lesion or of the whole patient.
 *
 * Composition: P(HCC) = P(malignant) * P(HCC | malignant), and likewise for every subtype with its branch. The
 * entries of a branch whose subtype model was not available are null. The call is the argmax subtype of the
 * predicted branch (the branch with the larger mean benign/malignant logit), which equals the LiLNet
 * study's hierarchical prediction; it can differ from the argmax of the six-class distribution.
 */
export interface Classification {
  pMalignant: number;
  branch: Branch;
  benignMalignant: ClassifierOutput;
  malignantSubtype: ClassifierOutput | null;
  benignSubtype: ClassifierOutput | null;
  /** P(class) for HCC, ICC, MET, FNH, HEM, CYST, composed from the two stages. */
  probabilities: Record<LesionClass, number | null>;
  /** The subtype called, or null when the predicted branch has no subtype model. */
  call: LesionClass | null;
  /** P(call) from `probabilities`, or P(branch) when `call` is null. */
  callProbability: number;
}

/** Paths relative to the output folder. */
export interface OverlayImage {
  phase: Phase;
  sliceIndex: number;
  /** The slice with every lesion box drawn. */
  boxes: string;
  /** The slice with this lesion's class-activation heatmap blended over the box; absent without a heatmap. */
  heatmap?: string;
}

/** The findings of one lesion in one phase. */
export interface LesionPhase {
  phase: Phase;
  seriesId: string;
  boxes: SliceBox[];
  /** The slice of the most confident box (the larger box on a tie). */
  keySliceIndex: number;
  /** File name (base name) of the key slice, when every slice of the series has its own file. */
  keySliceFile?: string;
  /** Patient-space (LPS, mm) centre of the lesion's boxes; null when the series has no geometry. */
  centreMm: [number, number, number] | null;
  /** Largest box side on the key slice in mm; null when pixel spacing is unknown. */
  maxDiameterMm: number | null;
  /** Largest box side on the key slice in pixels. */
  maxDiameterPx: number;
  /** Number of crops of this phase given to the classifiers. */
  cropCount: number;
  overlays: OverlayImage[];
}

export interface LesionReport {
  /** `L1`, `L2`, ... ordered by key-slice confidence, highest first. */
  id: string;
  phases: LesionPhase[];
  /** The rule that linked the phases: patient-space distance, slice overlap, or none (a single phase). */
  matchedBy: 'position' | 'slice-overlap' | 'single-phase';
  classification: Classification | null;
  warnings: ReportWarning[];
}

export interface SeriesSummary {
  id: string;
  phase: Phase;
  phaseSource: PhaseSource;
  unit: VoxelUnit;
  modality?: string;
  description?: string;
  /** [columns, rows, slices]. */
  dimensions: [number, number, number];
  spacingMm: [number, number, number];
  spacingKnown: boolean;
  /** True when the diagnosis read this series. */
  used: boolean;
}

export interface DetectionSettings {
  /** Boxes below this confidence are discarded. */
  confidenceThreshold: number;
  nmsIouThreshold: number;
  /** Detector input size in pixels (square letterbox). */
  inputSizePx: number;
  /** Window applied to HU series before detection; null for display-ready grey images. */
  window: DisplayWindow | null;
}

export interface CropSettings {
  /** Margin added on each side of a box, as a fraction of the box side. */
  marginFraction: number;
  /** Minimum crop side in pixels before resizing. */
  minSidePx: number;
  /** Classifier input side in pixels. */
  inputSizePx: number;
  window: DisplayWindow | null;
}

export interface DiagnosisReport {
  schemaVersion: string;
  /** ISO 8601 UTC time the report was made. */
  createdAt: string;
  lilnetVersion: string;
  case: {
    /** Derived from the path or a study UID, never a patient identifier. */
    id: string;
    series: SeriesSummary[];
    /** Phases whose series were diagnosed. */
    phasesUsed: Phase[];
    /** Requested phases that the case does not have. */
    phasesMissing: Phase[];
    failedFiles: { file: string; reason: string }[];
  };
  /** True when any model in `models` is a bundled demo model; the report must then not be used for diagnosis. */
  demoModels: boolean;
  models: ModelInfo[];
  detection: DetectionSettings;
  crop: CropSettings;
  /** True when the detector found no box above its threshold in any used phase. */
  noFocalLesionDetected: boolean;
  lesions: LesionReport[];
  /** Mean logits over every crop of every lesion and phase; null without lesions. */
  patient: Classification | null;
  warnings: ReportWarning[];
  /** Wall time of each stage in milliseconds, in execution order. */
  timingsMs: Record<string, number>;
}

/** Options of `diagnoseCase` (src/diagnose/diagnose-case.ts). */
export interface DiagnoseOptions {
  /** Folder of models; slots it does not fill use the bundled demo models in `models/`. */
  modelsDir?: string;
  /** Folder that receives report.json, report.html and overlays/; created when absent. */
  outDir: string;
  /** Phases to diagnose, e.g. ['AP', 'PVP']; by default AP and PVP, or every series when phases are unknown. */
  phases?: string[];
  /** Phases set by the user, keyed by series id, SeriesDescription or folder name (as readCase takes them). */
  phaseMapping?: Record<string, string>;
  /** Called at the start of each stage with the stage name and the overall fraction done, in [0, 1]. */
  onProgress?: (stage: string, fraction: number) => void;
}

/** The signature of `diagnoseCase`, for callers that take it as a dependency (the web server). */
export type DiagnoseCase = (casePath: string, options: DiagnoseOptions) => Promise<DiagnosisReport>;
