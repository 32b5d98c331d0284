/** Plain-text rendering of evaluation and comparison reports for the terminal. */
import { basename } from 'node:path';
import type { ComparisonReport, DelongReport } from './compare.ts';
import type { UnpairedComparisonReport } from './compare-unpaired.ts';
import type { EvaluationReport, Interval, MetricReport } from './evaluate.ts';
import type { McNemarReport } from './mcnemar.ts';
import type { ReaderComparison } from './readers.ts';
import { patientCount, taskTitle } from './report-plots.ts';
import type { StrataReport } from './strata.ts';

/** Formats a share as a percentage with one decimal, or `undefined` for null. */
export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? 'undefined' : `${(100 * value).toFixed(1)}%`;
}

function interval(value: Interval | null | undefined): string {
  if (value === undefined) return '';
  if (value === null) return 'undefined';
  return `[${percent(value[0])}, ${percent(value[1])}]`;
}

function formatP(pValue: number): string {
  if (pValue < 0.0001) return pValue.toExponential(2);
  return pValue.toFixed(4);
}

function ciOf(
  report: Pick<MetricReport, 'ci95'>,
  name: string,
  className?: string,
): Interval | null | undefined {
  const entry = report.ci95?.[name];
  if (report.ci95 === undefined) return undefined;
  if (className === undefined) return (entry ?? null) as Interval | null;
  return ((entry as Record<string, Interval | null> | undefined)?.[className] ?? null) as Interval | null;
}

function metricTable(report: MetricReport): string[] {
  const rows: [string, string, number | null | undefined][] = [
    ['accuracy', 'accuracy', report.accuracy],
    ['AUC macro', 'auc_macro', report.auc_macro],
    ['AUC weighted', 'auc_weighted', report.auc_weighted],
    ['recall macro', 'recall_macro', report.recall_macro],
    ['recall weighted', 'recall_weighted', report.recall_weighted],
    ['precision macro', 'precision_macro', report.precision_macro],
    ['precision weighted', 'precision_weighted', report.precision_weighted],
    ['F1 macro', 'f1_macro', report.f1_macro],
    ['F1 weighted', 'f1_weighted', report.f1_weighted],
  ];
  if (report.positive_class !== undefined) {
    rows.push(
      [`sensitivity (${report.positive_class})`, 'sensitivity', report.sensitivity],
      ['specificity', 'specificity', report.specificity],
      ['PPV', 'ppv', report.ppv],
      ['NPV', 'npv', report.npv],
    );
  }
  const lines = [`${'metric'.padEnd(26)}${'value'.padStart(10)}   ${report.ci95 ? '95% CI' : ''}`.trimEnd()];
  for (const [label, key, value] of rows) {
    lines.push(
      `${label.padEnd(26)}${percent(value).padStart(10)}   ${interval(ciOf(report, key))}`.trimEnd(),
    );
  }
  return lines;
}

function classTable(report: MetricReport, classes: readonly string[]): string[] {
  const width = Math.max(8, ...classes.map((name) => name.length + 2));
  const lines = [
    `${'class'.padEnd(width)}${'patients'.padStart(9)}${'AUC'.padStart(11)}${'recall'.padStart(10)}${'precision'.padStart(11)}${'F1'.padStart(9)}   Youden threshold (sensitivity, specificity)`,
  ];
  for (const name of classes) {
    const youden = report.youden[name];
    const youdenText =
      youden === null
        ? 'undefined'
        : `${youden.threshold.toPrecision(6)} (${percent(youden.sensitivity)}, ${percent(youden.specificity)})`;
    lines.push(
      `${name.padEnd(width)}${String(report.class_support[name]).padStart(9)}${percent(report.auc_per_class[name]).padStart(11)}` +
        `${percent(report.recall_per_class[name]).padStart(10)}${percent(report.precision_per_class[name]).padStart(11)}` +
        `${percent(report.f1_per_class[name]).padStart(9)}   ${youdenText}`,
    );
  }
  return lines;
}

function confusionTable(matrix: number[][], classes: readonly string[]): string[] {
  const width = Math.max(
    8,
    ...classes.map((name) => name.length + 2),
    ...matrix.flat().map((value) => String(value).length + 2),
  );
  const lines = ['confusion matrix (rows: reference diagnosis, columns: predicted class)'];
  lines.push(`${''.padEnd(width)}${classes.map((name) => name.padStart(width)).join('')}`);
  matrix.forEach((row, k) =>
    lines.push(`${classes[k].padEnd(width)}${row.map((value) => String(value).padStart(width)).join('')}`),
  );
  return lines;
}

function strataLines(strata: StrataReport): string[] {
  const width = Math.max(12, ...strata.groups.map((group) => group.value.length + 2));
  const lines = [`results by ${strata.column}`];
  lines.push(
    `${'stratum'.padEnd(width)}${'patients'.padStart(9)}${'accuracy'.padStart(11)}  ${'AUC macro'.padStart(10)}  95% CI (accuracy; AUC macro)`,
  );
  for (const group of strata.groups) {
    const cis = group.ci95
      ? `${interval(ciOf(group, 'accuracy'))}; ${interval(ciOf(group, 'auc_macro'))}`
      : '';
    lines.push(
      `${group.value.padEnd(width)}${String(group.patients).padStart(9)}${percent(group.accuracy).padStart(11)}  ${percent(group.auc_macro).padStart(10)}  ${cis}`.trimEnd(),
    );
  }
  return lines;
}

function mcnemarText(result: McNemarReport): string {
  const method =
    result.method === 'exact-binomial'
      ? 'exact binomial'
      : `chi-square ${result.statistic?.toFixed(3)} with continuity correction`;
  return `p = ${formatP(result.p_value)} (${method}; discordant ${result.only_a_correct}/${result.only_b_correct})`;
}

function readerLines(readers: ReaderComparison): string[] {
  const width = Math.max(10, ...readers.readers.map((reader) => reader.reader.length + 2));
  const lines = [`readers against the AI (${basename(readers.source)})`];
  lines.push(
    `${'reader'.padEnd(width)}${'patients'.padStart(9)}${'reader acc.'.padStart(13)}${'AI acc.'.padStart(10)}   McNemar, AI vs reader`,
  );
  for (const reader of readers.readers) {
    lines.push(
      `${reader.reader.padEnd(width)}${String(reader.patients).padStart(9)}${percent(reader.accuracy).padStart(13)}${percent(reader.ai_accuracy).padStart(10)}   ${mcnemarText(reader.mcnemar)}`,
    );
  }
  const withIntervals = readers.readers.filter((reader) => reader.ci95 !== undefined);
  if (withIntervals.length > 0) {
    lines.push("95% CI of the accuracies (bootstrap over each reader's patients):");
    for (const reader of withIntervals) {
      lines.push(
        `  ${reader.reader}: reader ${interval(reader.ci95?.accuracy)}, AI ${interval(reader.ci95?.ai_accuracy)}`,
      );
    }
  }
  return lines;
}

/** Renders `lilnet eval` output. */
export function formatEvaluation(
  report: EvaluationReport,
  strata?: StrataReport,
  readers?: ReaderComparison,
): string {
  const lines: string[] = [];
  lines.push(
    `${basename(report.source)}: ${taskTitle(report)}, ${patientCount(report.patients)} (${report.format} input${report.aggregation ? `, ${report.aggregation}` : ''})`,
  );
  const bootstrapText = report.bootstrap
    ? `; 95% CI: bootstrap, ${report.bootstrap.resamples} resamples, seed ${report.bootstrap.seed}`
    : '';
  lines.push(
    `AUC from ${report.auc_score}; predictions from ${report.label_source === 'recorded' ? 'the recorded pred_label' : 'the argmax'}${bootstrapText}`,
  );
  lines.push(
    '',
    ...metricTable(report),
    '',
    ...classTable(report, report.classes),
    '',
    ...confusionTable(report.confusion_matrix, report.classes),
  );
  if (strata) lines.push('', ...strataLines(strata));
  if (readers) lines.push('', ...readerLines(readers));
  const warnings = [
    ...report.warnings,
    ...(readers?.warnings ?? []),
    ...(strata?.groups.flatMap((group) =>
      group.warnings.map((warning) => ({
        ...warning,
        message: `[${strata.column} = ${group.value}] ${warning.message}`,
      })),
    ) ?? []),
  ];
  if (warnings.length > 0) {
    lines.push('', 'warnings:');
    for (const warning of warnings) lines.push(`  - ${warning.message}`);
  }
  return `${lines.join('\n')}\n`;
}

function delongRow(label: string, test: DelongReport): string {
  return (
    `${label.padEnd(12)}${percent(test.auc_a).padStart(9)}${percent(test.auc_b).padStart(9)}${percent(test.difference).padStart(9)}   ` +
    `${interval(test.ci95).padEnd(20)}${(test.z === null ? 'n/a' : test.z.toFixed(3)).padStart(8)}  ${formatP(test.p_value)}`
  );
}

/** Renders the part shared by paired and unpaired comparisons: the two models and the AUC tests. */
function comparisonHead(
  report: ComparisonReport | UnpairedComparisonReport,
  patientsLine: string,
  testTitle: string,
): string[] {
  const lines = [`A = ${basename(report.a.source)}`, `B = ${basename(report.b.source)}`];
  lines.push(
    `${patientsLine}; AUC from ${report.auc_score}; predictions from ${report.label_source === 'recorded' ? 'the recorded pred_label' : 'the argmax'}`,
  );
  lines.push('');
  lines.push(`${''.padEnd(14)}${'A'.padStart(10)}${'B'.padStart(10)}`);
  lines.push(
    `${'accuracy'.padEnd(14)}${percent(report.a.accuracy).padStart(10)}${percent(report.b.accuracy).padStart(10)}`,
  );
  lines.push(
    `${'AUC macro'.padEnd(14)}${percent(report.a.auc_macro).padStart(10)}${percent(report.b.auc_macro).padStart(10)}`,
  );

  lines.push('', testTitle);
  lines.push(
    `${'class'.padEnd(12)}${'AUC A'.padStart(9)}${'AUC B'.padStart(9)}${'diff.'.padStart(9)}   ${'95% CI'.padEnd(20)}${'z'.padStart(8)}  p`,
  );
  for (const name of report.classes) {
    const test = report.delong[name];
    if (test === null) {
      lines.push(
        `${name.padEnd(12)}undefined: the class needs at least two patients with and two without its label`,
      );
      continue;
    }
    lines.push(delongRow(name, test));
  }
  if (report.delong_macro !== null) lines.push(delongRow('macro', report.delong_macro));
  return lines;
}

function comparisonTail(
  report: ComparisonReport | UnpairedComparisonReport,
  bootstrapTitle: string,
): string[] {
  const lines: string[] = [];
  if (report.bootstrap) {
    const { auc_macro_difference: auc, accuracy_difference: accuracy } = report.bootstrap;
    lines.push(
      '',
      `${bootstrapTitle} (${report.bootstrap.resamples} resamples, seed ${report.bootstrap.seed}), A - B:`,
    );
    lines.push(`  AUC macro difference ${percent(auc.estimate)} ${interval(auc.ci95)}`);
    lines.push(`  accuracy difference  ${percent(accuracy.estimate)} ${interval(accuracy.ci95)}`);
  }
  if (report.warnings.length > 0) {
    lines.push('', 'warnings:');
    for (const warning of report.warnings) lines.push(`  - ${warning.message}`);
  }
  return lines;
}

/** Renders `lilnet compare` output. */
export function formatComparison(report: ComparisonReport): string {
  const lines = comparisonHead(
    report,
    `${report.patients} paired patients`,
    "DeLong's test, one class vs rest and macro average (difference A - B)",
  );
  lines.push('', `McNemar's test of the accuracies: ${mcnemarText(report.mcnemar)}`);
  const table = report.mcnemar;
  lines.push(
    `  both right ${table.both_correct}, only A right ${table.only_a_correct}, only B right ${table.only_b_correct}, both wrong ${table.both_wrong}`,
  );
  lines.push(...comparisonTail(report, 'paired bootstrap'));
  return `${lines.join('\n')}\n`;
}

/** Renders `lilnet compare --unpaired` output. */
export function formatUnpairedComparison(report: UnpairedComparisonReport): string {
  const lines = comparisonHead(
    report,
    `unpaired: ${patientCount(report.patients_a)} in A, ${report.patients_b} in B`,
    'AUC differences as independent samples, DeLong variance of each AUC (difference A - B)',
  );
  const test = report.accuracy_test;
  lines.push(
    '',
    `two-proportion z-test of the accuracies: p = ${formatP(test.p_value)} (z ${test.z === null ? 'n/a' : test.z.toFixed(3)}; correct ${test.correct_a} of ${report.patients_a} and ${test.correct_b} of ${report.patients_b})`,
  );
  lines.push(...comparisonTail(report, 'independent bootstrap'));
  return `${lines.join('\n')}\n`;
}
