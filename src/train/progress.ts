/** Training progress on stderr: a bar redrawn in place on a terminal, one line per epoch otherwise. */
import type { EpochMetrics } from './curves.ts';

export interface ProgressState {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  lr: number;
}

function percent(value: number | null): string {
  return value === null ? 'n/a' : `${(100 * value).toFixed(1)}%`;
}

export class ProgressReporter {
  readonly #stream: NodeJS.WriteStream;
  readonly #interactive: boolean;

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream;
    this.#interactive = Boolean(stream.isTTY);
  }

  update(state: ProgressState): void {
    if (!this.#interactive) return;
    const width = 24;
    const filled = Math.round((state.batch / state.batches) * width);
    const bar = `${'='.repeat(filled)}${' '.repeat(width - filled)}`;
    this.#stream.write(
      `\repoch ${state.epoch}/${state.epochs} [${bar}] ${state.batch}/${state.batches} loss ${state.loss.toFixed(4)} acc ${percent(state.accuracy)} ${state.imagesPerSecond.toFixed(1)} img/s lr ${state.lr.toPrecision(2)}`,
    );
  }

  /** Prints the epoch's summary; `stepImagesPerSecond` counts the engine steps only, without data preparation. */
  finishEpoch(metrics: EpochMetrics, stepImagesPerSecond: number): void {
    if (this.#interactive) this.#stream.write('\n');
    this.#stream.write(
      `epoch ${metrics.epoch}: loss ${metrics.trainLoss.toFixed(4)}, train acc ${percent(metrics.trainAccuracy)}, ` +
        `${metrics.imagesPerSecond.toFixed(1)} img/s (engine ${stepImagesPerSecond.toFixed(1)} img/s), lr ${metrics.lr.toPrecision(2)}; ` +
        `validation (${metrics.valPatients} patients): acc ${percent(metrics.valAccuracy)}, AUC ${metrics.valAuc === null ? 'n/a' : metrics.valAuc.toFixed(3)}\n`,
    );
  }
}
