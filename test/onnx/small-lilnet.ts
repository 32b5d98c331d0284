/**
 * Writes small LiLNet ONNX files for CLI tests: a narrow one-block-per-stage trunk keeps the file small and
 * `lilnet predict` fast, while the graph has every LiLNet output.
 */
import { writeFileSync } from 'node:fs';
import { exportLilnetOnnx } from '../../src/backends/onnx/export-model.ts';
import { lilnetConfig, lilnetSpecs } from '../../src/nn/lilnet.ts';
import type { ResNetTrunkConfig } from '../../src/nn/resnet.ts';

const TRUNK: ResNetTrunkConfig = { baseWidth: 4, blocksPerStage: [1, 1, 1, 1] };

export interface SmallLilnetOptions {
  numClasses: number;
  metadata?: Record<string, string>;
  /** Replaces the deterministic values of the named parameters, e.g. to make a bias NaN. */
  overrides?: Record<string, (data: Float32Array) => void>;
}

/** Writes a small LiLNet with deterministic weights (batch-norm variances 1) as an ONNX file at `path`. */
export function writeSmallLilnet(path: string, options: SmallLilnetOptions): void {
  const config = lilnetConfig(options.numClasses, TRUNK);
  const shapes = new Map(lilnetSpecs(config).map((spec) => [spec.name, spec.shape]));
  const exported = exportLilnetOnnx(config, {
    metadata: options.metadata ?? {},
    parameters: (name) => {
      const shape = shapes.get(name)!;
      const count = shape.reduce((a, b) => a * b, 1);
      const positive = name.endsWith('running_var');
      const data = Float32Array.from({ length: count }, (_, i) =>
        positive ? 1 : Math.sin(i * 0.7 + name.length) * 0.05,
      );
      options.overrides?.[name]?.(data);
      return { data, shape };
    },
  });
  writeFileSync(path, exported.bytes);
}
