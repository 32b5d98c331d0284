/** Writes the plots of an evaluation report (ROC curves and confusion matrix) as SVG and PNG files. */
import { basename } from 'node:path';
import type { EvaluationReport } from './evaluate.ts';
import { confusionMatrixSvg, rocPlotSvg, writeSvgAndPng } from './plots.ts';
import type { ReaderComparison } from './readers.ts';

const TASK_TITLES: Record<string, string> = {
  bm: 'benign vs malignant',
  benign: 'FNH / HEM / CYST',
  malignant: 'HCC / ICC / MET',
};

/** Returns a readable name of the task, such as `HCC / ICC / MET`. */
/** Formats a patient count with the right plural, e.g. "1 patient", "149 patients". */
export function patientCount(count: number): string {
  return `${count} ${count === 1 ? 'patient' : 'patients'}`;
}

export function taskTitle(report: Pick<EvaluationReport, 'task' | 'classes'>): string {
  return TASK_TITLES[report.task] ?? report.classes.join(' / ');
}

/**
 * Writes `roc.svg`, `roc.png`, `confusion-matrix.svg` and `confusion-matrix.png` into `directory` and returns
 * their paths. For two-class tasks the readers' operating points (sensitivity for the positive class against
 * 1 - specificity) are marked on the ROC plot.
 */
export async function writeEvaluationPlots(
  report: EvaluationReport,
  directory: string,
  readers?: ReaderComparison,
): Promise<string[]> {
  const title = taskTitle(report);
  const scoreText = report.auc_score === 'logits' ? 'scores: raw logits' : 'scores: softmax probabilities';
  const predictionText =
    report.label_source === 'recorded' ? 'predictions: recorded pred_label' : 'predictions: argmax';
  const file = basename(report.source);

  const markers =
    readers && report.classes.length === 2
      ? readers.readers.flatMap((reader) =>
          reader.sensitivity == null || reader.specificity == null
            ? []
            : [{ label: reader.reader, fpr: 1 - reader.specificity, tpr: reader.sensitivity }],
        )
      : undefined;
  const rocSvg = rocPlotSvg({
    title: `ROC curves, one class vs rest: ${title}`,
    subtitle: `${file}, ${patientCount(report.patients)}, ${scoreText}`,
    classes: report.classes,
    curves: report.classes.map((name) => report.roc_curves[name]),
    aucPerClass: report.classes.map((name) => report.auc_per_class[name]),
    aucMacro: report.auc_macro,
    markers,
    markerLegend: `Readers (sensitivity for ${report.classes[1]})`,
  });
  const confusionSvg = confusionMatrixSvg({
    title: `Confusion matrix: ${title}`,
    subtitle: `${file}, ${patientCount(report.patients)}\naccuracy ${(100 * report.accuracy).toFixed(1)}%, ${predictionText}`,
    classes: report.classes,
    matrix: report.confusion_matrix,
  });
  return [
    ...(await writeSvgAndPng(directory, 'roc', rocSvg)),
    ...(await writeSvgAndPng(directory, 'confusion-matrix', confusionSvg)),
  ];
}
