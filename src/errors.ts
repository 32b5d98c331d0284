/**
 * The catalogue of lilnet's coded errors. Every error a user can meet carries a stable code from this table,
 * a message that names the offending value, and a hint with the next step for the user.
 *
 * Add new codes here, grouped by area, with a one-line description of when they are raised.
 */
export const ERROR_CODES = {
  // General
  INVALID_ARGUMENT: 'a command-line option or function argument has an invalid value',
  FILE_NOT_FOUND: 'a path given by the user does not exist',
  FILE_UNREADABLE: 'a file exists but cannot be read (permissions, I/O error)',
  UNSUPPORTED_FORMAT: 'a file is of a format lilnet does not read',
  INTERNAL: 'an invariant inside lilnet was broken; this is a bug',
  OUTPUT_FOLDER_FAILED:
    'an output folder cannot be created or written (a file in the way, no permission, disk full)',

  // Model interoperability: PyTorch checkpoint import, ONNX export and inference
  CHECKPOINT_LEGACY_FORMAT:
    'a checkpoint is not in the zip format of torch.save (legacy pre-1.6 file, gzip, other)',
  CHECKPOINT_CORRUPT: 'a checkpoint archive is truncated or damaged, or lacks an entry it refers to',
  CHECKPOINT_UNSUPPORTED_CONTENT:
    'a checkpoint pickles something other than a state dict with plain metadata',
  CHECKPOINT_MISMATCH: 'a checkpoint state dict has missing, unexpected or mis-shaped keys for the model',
  ONNX_EXPORT_FAILED: 'a model could not be recorded or written as an ONNX graph',
  ONNX_INFERENCE_FAILED: 'ONNX Runtime could not load or run a model',
  // Server (src/server)
  UNAUTHENTICATED: 'an API request carries no valid session cookie',
  FORBIDDEN: 'the signed-in user lacks the role an API request needs',
  CSRF_REJECTED: 'a state-changing request lacks the session CSRF token or comes from another origin',
  LOGIN_FAILED: 'a user name and password pair did not match an account',
  NOT_FOUND: 'an API request names a case, series, job, report or file that does not exist',
  CONFLICT: 'an API request conflicts with the current state (a running job, an existing user)',
  UPLOAD_TOO_LARGE: 'an upload exceeds the file size, total size or file count limit of the server',
  UPLOAD_INVALID:
    'an uploaded file is not DICOM, NIfTI, PNG, JPEG or a zip of them, or a zip entry is unsafe',
  LOGIN_RATE_LIMITED: 'too many failed sign-ins for one user name or address in a short time',
  // Evaluation (src/eval)
  EVAL_CSV_MALFORMED: 'a CSV table is empty, has a bad header, an unclosed quote or a row of the wrong width',
  EVAL_COLUMNS_INVALID: 'a predictions or reader CSV lacks a required column or does not match the task',
  EVAL_VALUE_INVALID:
    'a predictions or reader CSV cell is not a number, not a class, or contradicts another row',
  EVAL_INPUTS_MISMATCHED: 'two inputs compared or joined do not cover the same patients with the same labels',
  EVAL_OUTPUT_FAILED: 'a plot file could not be written (folder not writable, disk full) or rendered',
  // Lesion detection (src/detect)
  DETECTION_LABEL_INVALID: 'a YOLO label or prediction file has a malformed line',
  DETECTIONS_FILE_INVALID:
    'a detections JSON document does not have the layout `lilnet detect --json` writes',
  DETECTOR_MODEL_NOT_FOUND: 'no detector model was given and none is bundled at models/detector.onnx',
  DETECTOR_MODEL_INVALID:
    'a detector model does not take one image or does not output [batch, 4 + classes, anchors]',
  DETECTION_DATASET_INVALID: 'a YOLO dataset root lacks images/ and labels/ or holds no labelled image',
  // Imaging input (src/imaging)
  DICOM_INVALID: 'a file is not DICOM, or its data set is truncated or malformed',
  DICOM_NOT_IMAGE: 'a DICOM file holds no pixel data (an RT plan, structured report, presentation state)',
  DICOM_PIXEL_DECODE_FAILED: 'the pixel data of a DICOM file could not be decoded (unsupported or damaged)',
  NIFTI_INVALID:
    'a NIfTI file has an invalid header, a data type lilnet does not read, or too few voxel bytes',
  IMAGE_INVALID: 'a slice image (PNG, JPEG, BMP) cannot be decoded or does not match the other slices',
  SERIES_INCONSISTENT:
    'the slices of one series differ in size, orientation or spacing so they form no volume',
  CASE_EMPTY: 'a path holds no file lilnet can read as CT (DICOM, NIfTI or slice images)',
  PHASE_MAPPING_INVALID: 'a user phase mapping names an unknown phase or a series that does not exist',
  // Diagnosis (src/diagnose)
  MODELS_NOT_FOUND:
    'a diagnosis lacks a detector or benign/malignant model, or a --models folder holds no model file',
  MODELS_INVALID: 'a models folder is ambiguous (two files for one slot) or its models.json is malformed',
  MODEL_OUTPUT_INVALID:
    'a classifier model does not take [N, 3, 224, 224] or does not output [N, classes] logits',
  NO_USABLE_SERIES: 'a case has no series that diagnosis can use (no CT series of the requested phases)',
  // libtorch engine and training checkpoints (src/backends/torch, src/nn/checkpoint/lilnet-checkpoint.ts)
  TORCH_ADDON_MISSING:
    'the libtorch addon is not built or fails to load (libtorch not installed, build failed)',
  TORCH_OP_FAILED: 'a libtorch operation failed (mismatched shapes or dtypes); the message names the call',
  TORCH_TENSOR_DISPOSED: 'a torch tensor was used after it was disposed or after its scope ended',
  TRAINING_CHECKPOINT_INVALID: 'a lilnet training checkpoint is truncated, damaged or of an unknown version',
  // Training datasets and runs (src/data, src/train)
  DATASET_CSV_INVALID:
    'a dataset CSV lacks the ID and Cancer columns, has an unknown label code or cannot be decoded',
  DATASET_INVALID: 'a training dataset has no usable images, a patient without crops, or one class only',
  TRAIN_RUN_INVALID: 'a training run folder to resume lacks its checkpoint or was made with other settings',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface LilnetErrorOptions {
  /** The step that fixes the problem, addressed to the user. */
  hint?: string;
  /** The file the error concerns, when there is one. */
  file?: string;
  cause?: unknown;
}

/** An error with a stable code from {@link ERROR_CODES}, a message naming the value, and a hint. */
export class LilnetError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly file: string | undefined;

  constructor(code: ErrorCode, message: string, options: LilnetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LilnetError';
    this.code = code;
    this.hint = options.hint;
    this.file = options.file;
  }

  /** Formats the error as one or two lines for a terminal: `[CODE] message` and the hint. */
  toDisplayString(): string {
    const head = `[${this.code}] ${this.message}`;
    return this.hint ? `${head}\n  hint: ${this.hint}` : head;
  }
}

export function isLilnetError(value: unknown): value is LilnetError {
  return value instanceof LilnetError;
}
