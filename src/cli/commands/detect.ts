/**
 * `lilnet detect`: finds lesion boxes on slices with an ONNX detector (lilnet's or an Ultralytics YOLOv8 export)
 * or a lilnet detector checkpoint. Prints per-slice boxes in slice pixels; for cases, also the boxes grouped into
 * lesions across neighbouring slices.
 */
import { writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import { LilnetError } from '../../errors.ts';
import { prepareOutputFolder } from '../../output-folder.ts';
import { parseWindow } from '../../imaging/window.ts';
import type { ScoredBox } from '../../detect/box.ts';
import { DEFAULT_CONFIDENCE_THRESHOLD, DEFAULT_NMS_IOU_THRESHOLD } from '../../detect/decode.ts';
import { DEFAULT_DETECTION_WINDOW, readDetectionInputs } from '../../detect/detect-inputs.ts';
import type { DetectionsDocument } from '../../detect/detections-file.ts';
import { detectOnSlices, openDetector } from '../../detect/detector-session.ts';
import { groupLesions, sliceDetectionsFromSeries, type GroupedLesion } from '../../detect/grouping.ts';
import { renderDetectionOverlay } from '../../detect/overlay.ts';

interface DetectOptions {
  model?: string;
  conf: string;
  iou: string;
  case?: boolean;
  window?: string;
  overlays?: string;
  json?: boolean;
}

function parseFraction(text: string, option: string): number {
  const value = Number(text);
  if (!(value >= 0 && value <= 1)) {
    throw new LilnetError('INVALID_ARGUMENT', `${option} "${text}" is not a number in [0, 1]`, {
      hint: `for example ${option} 0.25`,
    });
  }
  return value;
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

function boxJson(box: ScoredBox): { x1: number; y1: number; x2: number; y2: number; score: number } {
  return {
    x1: round(box.x1, 1),
    y1: round(box.y1, 1),
    x2: round(box.x2, 1),
    y2: round(box.y2, 1),
    score: round(box.score, 4),
  };
}

export function registerDetectCommand(program: Command): void {
  program
    .command('detect')
    .description('find lesion boxes on CT slices: slice images, folders of slice images, or a case')
    .argument('<inputs...>', 'slice images, folders of slice images, or a DICOM/NIfTI case (file or folder)')
    .option(
      '--model <file>',
      'detector: ONNX file (lilnet or Ultralytics YOLOv8 export) or lilnet checkpoint (default: models/detector.onnx)',
    )
    .option('--conf <score>', 'confidence threshold', String(DEFAULT_CONFIDENCE_THRESHOLD))
    .option('--iou <iou>', 'NMS IoU threshold', String(DEFAULT_NMS_IOU_THRESHOLD))
    .option(
      '--case',
      'read every input as a case (a series of neighbouring slices) and group boxes into lesions',
    )
    .option(
      '--window <W/L>',
      'display window for Hounsfield-unit series, width/level or a preset (default: 350/50)',
    )
    .option('--overlays <dir>', 'write each slice with its boxes drawn as PNG into this folder')
    .option('--json', 'print one JSON document: {model, slices: [{file, width, height, boxes}], lesions}')
    .action(async (inputs: string[], options: DetectOptions) => {
      const confidenceThreshold = parseFraction(options.conf, '--conf');
      const nmsIouThreshold = parseFraction(options.iou, '--iou');
      const hounsfieldWindow = options.window ? parseWindow(options.window) : DEFAULT_DETECTION_WINDOW;
      // Checked before detection so that an unwritable folder fails at once.
      if (options.overlays) prepareOutputFolder(options.overlays, '--overlays');
      const detector = await openDetector(options.model);
      try {
        const input = await readDetectionInputs(inputs, {
          forceCase: options.case ?? false,
          hounsfieldWindow,
        });
        for (const warning of input.warnings) process.stderr.write(`lilnet detect: warning: ${warning}\n`);
        process.stderr.write(
          `detecting on ${input.slices.length} slices with ${detector.source} (input ${detector.inputSize})\n`,
        );
        const started = performance.now();
        const boxes = await detectOnSlices(
          detector,
          input.slices.map((slice) => slice.grey),
          { confidenceThreshold, nmsIouThreshold },
        );
        const elapsedMs = performance.now() - started;

        const lesions: (GroupedLesion & { series: string })[] = [];
        for (const series of input.series) {
          const perSlice = input.slices
            .map((slice, index) => ({ slice, boxes: boxes[index] }))
            .filter(({ slice }) => slice.series === series);
          const grouped = groupLesions(
            sliceDetectionsFromSeries(
              series,
              perSlice.map(({ boxes: sliceBoxes }) => sliceBoxes),
            ),
          );
          lesions.push(...grouped.map((lesion) => ({ ...lesion, series: series.id })));
        }

        if (options.overlays) {
          const used = new Set<string>();
          for (let index = 0; index < input.slices.length; index++) {
            const slice = input.slices[index];
            let name = `${basename(slice.file, extname(slice.file)).replace(/[^A-Za-z0-9._-]/g, '_')}.png`;
            if (used.has(name)) name = `${index}-${name}`;
            used.add(name);
            writeFileSync(
              join(options.overlays, name),
              await renderDetectionOverlay(slice.grey, boxes[index]),
            );
          }
          process.stderr.write(`wrote ${input.slices.length} overlays to ${options.overlays}\n`);
        }

        const document: DetectionsDocument & { lesions: typeof lesions; warnings: string[]; timeMs: number } =
          {
            model: {
              path: detector.source,
              inputSize: detector.inputSize,
              confidenceThreshold,
              nmsIouThreshold,
            },
            slices: input.slices.map((slice, index) => ({
              file: slice.file,
              width: slice.grey.width,
              height: slice.grey.height,
              ...(slice.series
                ? { series: slice.series.id, phase: slice.series.phase, sliceIndex: slice.sliceIndex }
                : {}),
              boxes: boxes[index].map(boxJson),
            })),
            lesions,
            warnings: input.warnings,
            timeMs: round(elapsedMs, 1),
          };
        if (options.json) {
          process.stdout.write(JSON.stringify(document) + '\n');
          return;
        }
        const withBoxes = document.slices.filter((slice) => slice.boxes.length > 0);
        process.stdout.write(
          `${document.slices.length} slices, ${withBoxes.length} with boxes, ${boxes.flat().length} boxes ` +
            `(confidence >= ${confidenceThreshold}), ${(elapsedMs / 1000).toFixed(2)} s\n`,
        );
        for (const slice of withBoxes) {
          process.stdout.write(`${slice.file}\n`);
          for (const box of slice.boxes) {
            process.stdout.write(
              `  (${box.x1}, ${box.y1})-(${box.x2}, ${box.y2}) score ${box.score.toFixed(3)}\n`,
            );
          }
        }
        for (const lesion of lesions) {
          const extents = lesion.phases
            .map(
              (phase) =>
                `${phase.phase} slices ${phase.firstSlice}-${phase.lastSlice}, best ${phase.bestSlice}`,
            )
            .join('; ');
          const diameter =
            lesion.maxDiameterMm === null
              ? `${lesion.maxDiameterPx.toFixed(0)} px`
              : `${lesion.maxDiameterMm.toFixed(1)} mm`;
          process.stdout.write(
            `lesion ${lesion.id} (series ${lesion.series}): ${extents}; diameter ${diameter}; score ${lesion.maxScore.toFixed(3)}\n`,
          );
        }
      } finally {
        await detector.release();
      }
    });
}
