import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  modelFormatOf,
  resolveModelFiles,
  roleOfFileName,
  scanModelsFolder,
} from '../../src/diagnose/models-folder.ts';
import { isLilnetError } from '../../src/errors.ts';

test('file names map to slots', () => {
  const cases: [string, string | null][] = [
    ['detector.onnx', 'detector'],
    ['best.onnx', 'detector'],
    ['yolov8x.onnx', 'detector'],
    ['Time_BM.pth.tar', 'benign-malignant'],
    ['benign-malignant.onnx', 'benign-malignant'],
    ['bm_best.ckpt', 'benign-malignant'],
    ['Time_M.pth.tar', 'malignant-subtype'],
    ['malignant-reference.pth.tar', 'malignant-subtype'],
    ['Time_B.pth.tar', 'benign-subtype'],
    ['benign-subtype.onnx', 'benign-subtype'],
    ['notes.txt', null],
    ['resnet.onnx', null],
  ];
  for (const [name, role] of cases) assert.equal(roleOfFileName(name), role, name);
});

test('formats follow extensions', () => {
  assert.equal(modelFormatOf('a.ONNX'), 'onnx');
  assert.equal(modelFormatOf('Time_M.pth.tar'), 'pytorch-checkpoint');
  assert.equal(modelFormatOf('best.ckpt'), 'lilnet-checkpoint');
  assert.equal(modelFormatOf('model.h5'), null);
});

test('scan rejects two files per slot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lilnet-models-'));
  try {
    writeFileSync(join(dir, 'Time_M.pth.tar'), '');
    writeFileSync(join(dir, 'malignant-subtype.onnx'), '');
    assert.throws(() => scanModelsFolder(dir), /two files for the malignant-subtype slot/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('manifest names files and demo flag', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lilnet-models-'));
  try {
    writeFileSync(join(dir, 'd.onnx'), '');
    writeFileSync(
      join(dir, 'models.json'),
      JSON.stringify({ demo: true, trainedOn: 'phantoms', models: { detector: { file: 'd.onnx' } } }),
    );
    const found = scanModelsFolder(dir);
    assert.equal(found.detector?.path, join(dir, 'd.onnx'));
    assert.equal(found.detector?.demo, true);
    assert.equal(found.detector?.trainedOn, 'phantoms');
    assert.equal(found['benign-malignant'], undefined);

    // A slot the manifest leaves out is still filled by file name, with the manifest's demo flag.
    writeFileSync(join(dir, 'malignant-subtype.onnx'), '');
    const withNamed = scanModelsFolder(dir);
    assert.equal(withNamed['malignant-subtype']?.path, join(dir, 'malignant-subtype.onnx'));
    assert.equal(withNamed['malignant-subtype']?.demo, true);

    writeFileSync(
      join(dir, 'models.json'),
      JSON.stringify({ models: { 'benign-malignant': { file: 'missing.onnx' } } }),
    );
    assert.throws(
      () => scanModelsFolder(dir),
      /names missing\.onnx for the benign-malignant slot, but the file is missing/,
    );
    writeFileSync(join(dir, 'models.json'), '{ not json');
    assert.throws(() => scanModelsFolder(dir), /is not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('user slots override bundled ones', () => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-models-'));
  try {
    const user = join(root, 'user');
    const bundled = join(root, 'bundled');
    mkdirSync(user);
    mkdirSync(bundled);
    writeFileSync(join(user, 'Time_M.pth.tar'), '');
    writeFileSync(join(bundled, 'malignant-subtype.onnx'), '');
    writeFileSync(join(bundled, 'detector.onnx'), '');
    writeFileSync(
      join(bundled, 'models.json'),
      JSON.stringify({
        demo: true,
        models: {
          detector: { file: 'detector.onnx' },
          'malignant-subtype': { file: 'malignant-subtype.onnx' },
        },
      }),
    );
    const resolved = resolveModelFiles(user, bundled);
    assert.equal(resolved['malignant-subtype']?.path, join(user, 'Time_M.pth.tar'));
    assert.equal(resolved['malignant-subtype']?.demo, false);
    assert.equal(resolved.detector?.path, join(bundled, 'detector.onnx'));
    assert.equal(resolved.detector?.demo, true);
    assert.throws(() => resolveModelFiles(join(root, 'absent'), bundled), /models folder .*absent not found/);
    assert.throws(
      () => resolveModelFiles(join(bundled, 'detector.onnx'), bundled),
      /--models .*detector\.onnx is a file, but it must be a folder of models/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('models folder without models rejected', () => {
  const root = mkdtempSync(join(tmpdir(), 'lilnet-models-'));
  try {
    const user = join(root, 'user');
    const bundled = join(root, 'bundled');
    mkdirSync(user);
    mkdirSync(bundled);
    writeFileSync(join(bundled, 'detector.onnx'), '');
    assert.throws(
      () => resolveModelFiles(user, bundled),
      (error: unknown) => {
        assert.ok(isLilnetError(error));
        assert.equal(error.code, 'MODELS_NOT_FOUND');
        assert.match(error.message, /has no file lilnet recognises as a model \(it is empty\)/);
        assert.match(error.hint ?? '', /leave out --models/);
        return true;
      },
    );

    // A checkpoint under a name that fits no slot is named in the message.
    writeFileSync(join(user, 'model_best.pth.tar'), '');
    assert.throws(() => resolveModelFiles(user, bundled), /it holds model_best\.pth\.tar/);

    // Without --models, the bundled folder alone fills the slots.
    assert.equal(resolveModelFiles(undefined, bundled).detector?.path, join(bundled, 'detector.onnx'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
