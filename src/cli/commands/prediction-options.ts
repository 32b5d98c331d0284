/** Options shared by `lilnet eval` and `lilnet compare`: how a predictions CSV is read and scored. */
import type { Command } from 'commander';

/** Adds --task, --classes, --auc-score, --label-source and --aggregate to a command and returns it. */
export function withPredictionOptions(command: Command): Command {
  return command
    .option(
      '--task <task>',
      'class labels: bm (benign/malignant), benign (FNH/HEM/CYST), malignant (HCC/ICC/MET)',
    )
    .option('--classes <names>', 'comma-separated class names in logit column order, for other tasks')
    .option(
      '--auc-score <score>',
      'AUC score per class: logits (raw, as the LiLNet paper) or probabilities (softmax)',
      'probabilities',
    )
    .option(
      '--label-source <source>',
      'predicted class: argmax of the scores, or the recorded pred_label column',
      'argmax',
    )
    .option(
      '--aggregate <method>',
      'per-image input: mean-logits or mean-probabilities per patient',
      'mean-logits',
    );
}
