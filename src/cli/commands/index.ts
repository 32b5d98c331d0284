/** The list of `lilnet` subcommands. Add one import and one call per command file. */
import type { Command } from 'commander';
import { registerCompareCommand } from './compare.ts';
import { registerEvalCommand } from './eval.ts';
import { registerEvalDetectionCommand } from './eval-detection.ts';
import { registerDetectCommand } from './detect.ts';
import { registerTrainDetectorCommand } from './train-detector.ts';
import { registerExportOnnxCommand } from './export-onnx.ts';
import { registerInspectCommand } from './inspect.ts';
import { registerPredictCommand } from './predict.ts';
import { registerServeCommand } from './serve.ts';
import { registerSynthCommand } from './synth.ts';
import { registerTrainCommand } from './train.ts';
import { registerDiagnoseCommand } from './diagnose.ts';

export function registerCommands(program: Command): void {
  void program;
  registerDiagnoseCommand(program);
  registerEvalCommand(program);
  registerCompareCommand(program);
  registerEvalDetectionCommand(program);
  registerDetectCommand(program);
  registerTrainDetectorCommand(program);
  registerInspectCommand(program);
  registerServeCommand(program);
  registerSynthCommand(program);
  registerTrainCommand(program);
  registerPredictCommand(program);
  registerExportOnnxCommand(program);
}
