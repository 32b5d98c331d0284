import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyWindow, defaultWindow, parseWindow, WINDOW_PRESETS } from '../../src/imaging/window.ts';
import {
  phaseFromDescription,
  phaseFromFolderName,
  phaseFromFileName,
  parsePhase,
} from '../../src/imaging/phase.ts';
import type { Series } from '../../src/imaging/volume.ts';

test('presets are liver and abdomen', () => {
  assert.deepEqual(WINDOW_PRESETS.liver, { centre: 90, width: 150 });
  assert.deepEqual(WINDOW_PRESETS.abdomen, { centre: 40, width: 400 });
});

test('linear VOI function at its thresholds', () => {
  // Liver window: c = 90, w = 150. Lower threshold c - 0.5 - (w - 1) / 2 = 15, upper c - 0.5 + (w - 1) / 2 = 164.
  const values = Float32Array.from([-1000, 15, 15.001, 89.5, 164, 164.001, 3000]);
  const out = applyWindow(values, WINDOW_PRESETS.liver);
  assert.equal(out[0], 0);
  assert.equal(out[1], 0);
  assert.equal(out[2], 0);
  assert.equal(out[3], 128, 'the centre minus 0.5 maps to mid-grey 127.5, rounded up');
  assert.equal(out[4], 255);
  assert.equal(out[5], 255);
  assert.equal(out[6], 255);
});

test('linear VOI function in between', () => {
  const out = applyWindow(Float32Array.from([40 - 0.5 - 199.5 / 2]), WINDOW_PRESETS.abdomen);
  // x = c - 0.5 - (w - 1) / 4 lies a quarter along the ramp: 0.25 * 255 = 63.75.
  assert.equal(out[0], 64);
});

test('width below 1 is rejected', () => {
  assert.throws(() => applyWindow(new Float32Array(1), { centre: 0, width: 0.5 }), /width 0\.5 is invalid/);
});

test('parseWindow reads presets and W/L', () => {
  assert.deepEqual(parseWindow('liver'), WINDOW_PRESETS.liver);
  assert.deepEqual(parseWindow('350/50'), { width: 350, centre: 50 });
  assert.deepEqual(parseWindow('1500/-600'), { width: 1500, centre: -600 });
  assert.throws(() => parseWindow('bone'), /neither a preset nor width\/level/);
});

test('default window prefers the file window', () => {
  const series = {
    unit: 'HU',
    voxels: new Float32Array([0]),
    fileWindow: { centre: 50, width: 350 },
  } as unknown as Series;
  assert.deepEqual(defaultWindow(series), { centre: 50, width: 350 });
  assert.deepEqual(defaultWindow({ ...series, fileWindow: undefined }), WINDOW_PRESETS.abdomen);
  const grey = { unit: 'grey', voxels: Float32Array.from([0, 255]) } as unknown as Series;
  assert.deepEqual(
    applyWindow(Float32Array.from([0, 100, 255]), defaultWindow(grey)),
    Uint8Array.from([0, 100, 255]),
  );
});

test('folder names map to phases', () => {
  const cases: [string, string | undefined][] = [
    ['CT', 'NC'],
    ['nc', 'NC'],
    ['Plain', 'NC'],
    ['AP', 'AP'],
    ['arterial', 'AP'],
    ['PVP', 'PVP'],
    ['portal venous', 'PVP'],
    ['portal_venous', 'PVP'],
    ['DP', 'DP'],
    ['Delayed', 'DP'],
    ['case-01', undefined],
    ['series-3', undefined],
  ];
  for (const [name, phase] of cases) assert.equal(phaseFromFolderName(name), phase, name);
});

test('series descriptions map to phases', () => {
  const cases: [string, string | undefined][] = [
    ['ABD W/O CONTRAST 5mm', 'NC'],
    ['Non-contrast liver', 'NC'],
    ['Late arterial 2.5mm', 'AP'],
    ['LIVER ART', 'AP'],
    ['Portal venous phase', 'PVP'],
    ['PV 5.0 B30f', 'PVP'],
    ['Delayed 3 min', 'DP'],
    ['Equilibrium', 'DP'],
    ['Abdomen 5mm B30f', undefined],
  ];
  for (const [description, phase] of cases)
    assert.equal(phaseFromDescription(description), phase, description);
});

test('file names and user phases', () => {
  assert.equal(phaseFromFileName('p09-ap-03.jpg'), 'AP');
  assert.equal(phaseFromFileName('p12-pvp-01.png'), 'PVP');
  assert.equal(phaseFromFileName('p03-unknown-01.png'), undefined);
  assert.equal(phaseFromFileName('ct-0001.png'), undefined);
  assert.equal(parsePhase('ct'), 'NC');
  assert.throws(() => parsePhase('venous-ish'), /phase "venous-ish" is not a known contrast phase/);
});
