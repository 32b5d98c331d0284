/**
 * `lilnet eval-detection`: precision, recall and F1 of detections against YOLO labels at several IoU
 * thresholds, per lesion type when a manifest gives types, AP at IoU 0.5 and the precision-recall curve.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Command } from 'commander';
import { LilnetError } from '../../errors.ts';
import { moduleLogger } from '../../log.ts';
import { prepareOutputFolder } from '../../output-folder.ts';
import { readPredictions } from '../../detect/detections-file.ts';
import {
  DEFAULT_EVALUATION_IOU_THRESHOLDS,
  evaluateDetections,
  type DetectionCounts,
  type DetectionEvaluation,
  type EvaluationImage,
} from '../../detect/evaluate.ts';
import { readLesionTypeManifest } from '../../detect/lesion-types.ts';
import { precisionRecallSvg, svgToPng } from '../../detect/pr-curve-plot.ts';
import { readYoloLabelFolder, yoloLabelToBox } from '../../detect/yolo-labels.ts';

const log = moduleLogger('cli.eval-detection');

interface EvalDetectionOptions {
  truth: string;
  pred: string;
  iou: string;
  conf: string;
  types?: string;
  out?: string;
  json?: boolean;
}

export function parseIouList(text: string): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((value) => !(value > 0 && value <= 1))) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `--iou "${text}" is not a comma-separated list of numbers in (0, 1]`,
      {
        hint: 'for example --iou 0.1,0.3,0.5',
      },
    );
  }
  return values;
}

function isLabelFileName(name: string): boolean {
  return extname(name) === '.txt' && name !== 'classes.txt';
}

/**
 * Rejects a labels folder that holds no label file itself but has split subfolders that do (the Ultralytics
 * layout `labels/train`, `labels/val` that `lilnet synth` writes). Reading it as is would count every predicted
 * image as lesion-free, and merging the splits would count the images of a split that was not run as missed.
 */
function rejectSplitLabelsFolder(folder: string): void {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return;
  const entries = readdirSync(folder, { withFileTypes: true });
  if (entries.some((entry) => entry.isFile() && isLabelFileName(entry.name))) return;
  const splits = entries
    .filter((entry) => entry.isDirectory() && readdirSync(join(folder, entry.name)).some(isLabelFileName))
    .map((entry) => entry.name)
    .sort();
  if (splits.length === 0) return;
  throw new LilnetError(
    'DETECTION_DATASET_INVALID',
    `labels folder ${folder} holds no label files, but its subfolders ${splits.join(', ')} do`,
    {
      file: folder,
      hint: `pass the split the predictions were made on, for example --truth ${join(folder, splits[splits.length - 1])}`,
    },
  );
}

/** Accepts the labels folder itself or a YOLO dataset root that holds `labels/`. */
function resolveLabelsFolder(path: string): string {
  const nested = join(path, 'labels');
  const folder = existsSync(nested) && statSync(nested).isDirectory() ? nested : path;
  rejectSplitLabelsFolder(folder);
  return folder;
}

/** Pairs truth and predictions by image stem; an image without a label file has no lesion (YOLO convention). */
export function buildEvaluationImages(
  truthFolder: string,
  predictionsPath: string,
  typesFile?: string,
): EvaluationImage[] {
  const truth = readYoloLabelFolder(resolveLabelsFolder(truthFolder));
  const predictions = readPredictions(predictionsPath);
  const types = typesFile ? readLesionTypeManifest(typesFile) : new Map<string, (string | undefined)[]>();
  const names = [...new Set([...truth.keys(), ...predictions.keys()])].sort();
  const onlyPredicted = names.filter((name) => !truth.has(name)).length;
  if (onlyPredicted > 0) {
    log.warn({ images: onlyPredicted }, 'images with predictions but no label file count as lesion-free');
  }
  return names.map((name) => {
    const imageTypes = types.get(name) ?? [];
    return {
      name,
      truth: (truth.get(name) ?? []).map((label, index) => {
        const lesionType = imageTypes[index];
        const box = yoloLabelToBox(label, 1, 1);
        return lesionType === undefined ? box : { ...box, lesionType };
      }),
      predictions: predictions.get(name) ?? [],
    };
  });
}

function percent(value: number | null): string {
  return value === null ? '   n/a' : `${(100 * value).toFixed(1).padStart(5)}%`;
}

function countsLine(label: string, counts: DetectionCounts): string {
  return (
    `${label.padEnd(12)} P ${percent(counts.precision)}  R ${percent(counts.recall)}  F1 ${percent(counts.f1)}` +
    `  (TP ${counts.truePositives}, FP ${counts.falsePositives}, FN ${counts.falseNegatives})`
  );
}

export function formatEvaluation(evaluation: DetectionEvaluation): string {
  const lines = [
    `${evaluation.imageCount} images, ${evaluation.truthCount} truth boxes, ${evaluation.predictionCount} predictions ` +
      `with score >= ${evaluation.confidenceThreshold}`,
  ];
  for (const threshold of evaluation.thresholds) {
    lines.push(`IoU ${threshold.iouThreshold}:`);
    lines.push('  ' + countsLine('overall', threshold));
    for (const [lesionType, counts] of Object.entries(threshold.byLesionType))
      lines.push('  ' + countsLine(lesionType, counts));
  }
  lines.push(`AP at IoU 0.5: ${percent(evaluation.averagePrecision50).trim()}`);
  return lines.join('\n') + '\n';
}

export function registerEvalDetectionCommand(program: Command): void {
  program
    .command('eval-detection')
    .description('evaluate lesion detections against YOLO labels: precision, recall, F1, AP at IoU 0.5')
    .requiredOption('--truth <labels>', 'folder of YOLO label files (or a dataset root holding labels/)')
    .requiredOption(
      '--pred <detections>',
      'JSON from `lilnet detect --json`, or a folder of YOLO prediction files with scores',
    )
    .option('--iou <list>', 'IoU thresholds, comma-separated', DEFAULT_EVALUATION_IOU_THRESHOLDS.join(','))
    .option('--conf <score>', 'ignore predictions below this confidence for precision, recall and F1', '0')
    .option(
      '--types <manifest>',
      'lesion type per truth box (JSON or CSV with image, box, type) for per-type metrics',
    )
    .option(
      '--out <dir>',
      'write metrics.json and the precision-recall curve (pr-curve.svg, pr-curve.png) here',
    )
    .option('--json', 'print the metrics as one JSON document')
    .action(async (options: EvalDetectionOptions) => {
      const iouThresholds = parseIouList(options.iou);
      const confidenceThreshold = Number(options.conf);
      if (!(confidenceThreshold >= 0 && confidenceThreshold <= 1)) {
        throw new LilnetError('INVALID_ARGUMENT', `--conf "${options.conf}" is not a number in [0, 1]`, {
          hint: 'for example --conf 0.25',
        });
      }
      const images = buildEvaluationImages(options.truth, options.pred, options.types);
      const evaluation = evaluateDetections(images, { iouThresholds, confidenceThreshold });

      if (options.out) {
        prepareOutputFolder(options.out);
        const title = `Precision-recall at IoU 0.5, AP ${percent(evaluation.averagePrecision50).trim()}`;
        const svg = precisionRecallSvg(evaluation.precisionRecallCurve, title);
        writeFileSync(join(options.out, 'pr-curve.svg'), svg);
        writeFileSync(join(options.out, 'pr-curve.png'), await svgToPng(svg));
        writeFileSync(join(options.out, 'metrics.json'), JSON.stringify(evaluation, null, 2) + '\n');
        process.stderr.write(`wrote metrics.json, pr-curve.svg and pr-curve.png to ${options.out}\n`);
      }
      if (options.json) process.stdout.write(JSON.stringify(evaluation) + '\n');
      else process.stdout.write(formatEvaluation(evaluation));
    });
}
