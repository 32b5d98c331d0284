/**
 * Conversion of classifier checkpoints (the authors' released `.pth.tar` files, or any PyTorch state dict of
 * LiLNet or a plain ResNet classifier in torchvision naming) into the ONNX graph the diagnosis runs: the
 * `aggregated_logits` (or `logits`) output plus the `cam` output of cam-head.ts.
 *
 * A converted file is cached under `<cache>/models/<sha256 prefix>-<slot>.onnx`, where `<cache>` is
 * `$LILNET_CACHE_DIR`, else `$XDG_CACHE_HOME/lilnet`, else `~/.cache/lilnet`; later runs reuse it. The
 * checkpoint's folder is never written to, since a models folder may be read-only.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import {
  exportLilnetOnnx,
  exportResnetClassifierOnnx,
  stateDictParameters,
} from '../backends/onnx/export-model.ts';
import { LilnetError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import type { StateDictTensor } from '../nn/checkpoint/pytorch-reader.ts';
import { openClassifierModel } from '../nn/classifier-model.ts';
import { lilnetConfig } from '../nn/lilnet.ts';
import type { ResNetTrunkConfig } from '../nn/resnet.ts';
import { resnetClassifierConfig } from '../nn/resnet50.ts';
import { lilnetCam, resnetCam } from './cam-head.ts';
import type { ClassifierRole } from './classify-stage.ts';
import { modelVersion } from './models-folder.ts';

const log = moduleLogger('diagnose.convert');

/** Returns the folder that converted models are cached in. */
export function modelCacheDir(): string {
  if (process.env.LILNET_CACHE_DIR) return join(process.env.LILNET_CACHE_DIR, 'models');
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'lilnet', 'models');
}

export interface ClassifierArchitecture {
  kind: 'lilnet' | 'resnet';
  numClasses: number;
  trunk: ResNetTrunkConfig;
}

/**
 * Reads the architecture from the state dict's names and shapes. `fc_ens` marks LiLNet, and the class count
 * comes from `fc_SD` (LiLNet) or `fc` (ResNet). The trunk width is the row count of `conv1`, and the blocks per
 * stage are the largest block index of each `layer<N>` plus one.
 */
export function inferArchitecture(
  stateDict: ReadonlyMap<string, StateDictTensor>,
  source: string,
): ClassifierArchitecture {
  const shapeOf = (name: string): number[] => {
    const entry = stateDict.get(name);
    if (!entry) {
      throw new LilnetError(
        'CHECKPOINT_MISMATCH',
        `${source} has no parameter ${name}, so it is not a LiLNet or ResNet classifier`,
        {
          file: source,
          hint: "use a checkpoint of LiLNet or a torchvision ResNet classifier (the authors' Time_*.pth.tar files are)",
        },
      );
    }
    return entry.shape;
  };
  const baseWidth = shapeOf('conv1.weight')[0];
  const blocksPerStage = [1, 2, 3, 4].map((stage) => {
    let blocks = 0;
    for (const name of stateDict.keys()) {
      const match = new RegExp(`^layer${stage}\\.(\\d+)\\.`).exec(name);
      if (match) blocks = Math.max(blocks, Number(match[1]) + 1);
    }
    return blocks;
  }) as [number, number, number, number];
  const trunk: ResNetTrunkConfig = { baseWidth, blocksPerStage };
  if (stateDict.has('fc_ens.weight'))
    return { kind: 'lilnet', numClasses: shapeOf('fc_SD.weight')[0], trunk };
  return { kind: 'resnet', numClasses: shapeOf('fc.weight')[0], trunk };
}

/**
 * Builds the diagnosis ONNX graph (logits and `cam`) of a classifier state dict, for square inputs of
 * `imageSizePx` (224 in the study; the graph fixes H and W, so the diagnosis reads the side from it).
 */
export function exportDiagnosisClassifier(
  stateDict: ReadonlyMap<string, StateDictTensor>,
  source: string,
  imageSizePx = 224,
): { bytes: Uint8Array; architecture: ClassifierArchitecture } {
  const architecture = inferArchitecture(stateDict, source);
  const parameters = stateDictParameters(stateDict);
  const exported =
    architecture.kind === 'lilnet'
      ? exportLilnetOnnx(lilnetConfig(architecture.numClasses, architecture.trunk), {
          parameters,
          imageSizePx,
          outputs: ['aggregated_logits'],
          customOutputs: {
            cam: (context) => lilnetCam(context.ops, context.layer4Features, context.parameters),
          },
          metadata: { 'lilnet.converted_from': basename(source) },
        })
      : exportResnetClassifierOnnx(resnetClassifierConfig(architecture.numClasses, architecture.trunk), {
          parameters,
          imageSizePx,
          outputs: ['logits'],
          customOutputs: {
            cam: (context) => resnetCam(context.ops, context.layer4Features, context.parameters),
          },
          metadata: { 'lilnet.converted_from': basename(source) },
        });
  return { bytes: exported.bytes, architecture };
}

/** Describes an architecture for the report, e.g. `LiLNet, ResNet-50 layout at base width 16`. */
export function describeArchitecture(architecture: ClassifierArchitecture): string {
  const name = architecture.kind === 'lilnet' ? 'LiLNet' : 'ResNet classifier';
  const blocks = architecture.trunk.blocksPerStage.join('-');
  if (architecture.trunk.baseWidth === 64 && blocks === '3-4-6-3') return `${name}, ResNet-50 trunk`;
  return `${name}, ResNet trunk of base width ${architecture.trunk.baseWidth}, blocks ${blocks}`;
}

export interface ConvertedModel {
  /** The ONNX file to run: the cached conversion, or the file itself when it already was ONNX. */
  onnxPath: string;
  /** The architecture read from the checkpoint, as {@link describeArchitecture} words it. */
  architecture: string;
}

/**
 * Returns the ONNX graph of a classifier checkpoint (PyTorch, or a `lilnet train` `.ckpt`), converting and
 * caching it on first use; a JSON file beside the cached graph keeps the architecture. `expectedClasses` is
 * the class count of the slot, and a checkpoint with another count is rejected.
 */
export async function convertCheckpointToOnnx(
  path: string,
  role: ClassifierRole,
  expectedClasses: number,
): Promise<ConvertedModel> {
  const cacheDir = modelCacheDir();
  const cached = join(cacheDir, `${await modelVersion(path)}-${role}.onnx`);
  const sidecar = cached.replace(/\.onnx$/, '.json');
  if (existsSync(cached) && existsSync(sidecar)) {
    log.info({ checkpoint: basename(path), cached }, 'using the cached ONNX conversion');
    const { architecture } = JSON.parse(await readFile(sidecar, 'utf8')) as { architecture: string };
    return { onnxPath: cached, architecture };
  }
  const started = performance.now();
  const model = await openClassifierModel(path);
  if (model.format === 'onnx') return { onnxPath: path, architecture: 'not stated (ONNX file)' };
  const { bytes, architecture } = exportDiagnosisClassifier(model.stateDict, path);
  if (architecture.numClasses !== expectedClasses) {
    throw new LilnetError(
      'CHECKPOINT_MISMATCH',
      `${basename(path)} has ${architecture.numClasses} classes but the ${role} slot needs ${expectedClasses}`,
      {
        file: path,
        hint: 'check which checkpoint is which: Time_BM is benign/malignant, Time_M is HCC/ICC/MET, Time_B is FNH/HEM/CYST',
      },
    );
  }
  await mkdir(cacheDir, { recursive: true });
  // Written under temporary names and renamed, so that an interrupted conversion never leaves a partial file.
  const description = describeArchitecture(architecture);
  await writeFile(
    `${sidecar}.${process.pid}.tmp`,
    JSON.stringify({ architecture: description, source: basename(path) }),
  );
  await rename(`${sidecar}.${process.pid}.tmp`, sidecar);
  await writeFile(`${cached}.${process.pid}.tmp`, bytes);
  await rename(`${cached}.${process.pid}.tmp`, cached);
  log.info(
    {
      checkpoint: basename(path),
      kind: architecture.kind,
      trunk: architecture.trunk,
      timeMs: Math.round(performance.now() - started),
    },
    'converted a checkpoint to ONNX',
  );
  return { onnxPath: cached, architecture: description };
}
