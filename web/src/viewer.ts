/**
 * The slice viewer: one canvas showing a slice of the selected series, windowed in the browser from the raw
 * 16-bit values, with lesion boxes and heatmaps of the diagnosis drawn over it. Switching series keeps the
 * position: by patient-space position along the slice normal when both series have geometry, else by the
 * relative slice index.
 */
import type { DiagnosisReport } from '../../src/diagnose/report-types.ts';
import type { SeriesInfo } from './api.ts';
import { h } from './dom.ts';
import { t, type MessageKey } from './i18n/i18n.ts';
import { SliceCache, type SliceData } from './slice-cache.ts';
import { synchronisedSlice } from './slice-sync.ts';
import { ABDOMEN_WINDOW, fillWindowLut, LIVER_WINDOW, type DisplayWindow } from './window-presets.ts';

const PREFETCH_RADIUS = 12;

export class SliceViewer {
  readonly element = h('div', { class: 'viewer', 'data-testid': 'viewer' });
  private seriesIndex = 0;
  private z = 0;
  private window: DisplayWindow = { ...ABDOMEN_WINDOW };
  private zoom = 1;
  private pan = { x: 0, y: 0 };
  private showBoxes = true;
  private showHeatmap = false;
  private readonly cache: SliceCache;
  private readonly lut = new Uint8Array(65536);
  private lutKey = '';
  private readonly canvas = h('canvas', {
    class: 'slice-canvas',
    tabindex: 0,
    'data-testid': 'slice-canvas',
  });
  private readonly offscreen = document.createElement('canvas');
  private image: ImageData | null = null;
  private readonly heatmaps = new Map<string, HTMLImageElement>();
  private statusLine = h('div', { class: 'viewer-status', 'data-testid': 'viewer-status' });
  private slider = h('input', { type: 'range', min: 0, max: 0, value: 0, 'data-testid': 'slice-slider' });
  private report: DiagnosisReport | null = null;
  private initialised = false;

  constructor(
    private readonly caseId: string,
    private readonly series: SeriesInfo[],
  ) {
    this.cache = new SliceCache(caseId);
    this.bindInput();
    if (series.length > 0) this.selectSeries(0, 0);
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  setReport(report: DiagnosisReport | null): void {
    this.report = report;
    this.draw();
  }

  /** Moves to a slice of the series of `phase` (used by the diagnosis panel's key-slice buttons). */
  showSlice(seriesKey: string, z: number): void {
    const index = this.series.findIndex((s) => s.seriesKey === seriesKey);
    if (index < 0) return;
    this.seriesIndex = index;
    this.setSlice(z);
    this.render();
  }

  private get current(): SeriesInfo {
    return this.series[this.seriesIndex];
  }

  private selectSeries(index: number, z: number): void {
    const previous = this.initialised ? this.current : null;
    this.initialised = true;
    this.seriesIndex = index;
    const next = this.current;
    if (!previous || previous.unit !== next.unit) {
      // A window in Hounsfield units means nothing for grey levels and the other way round.
      this.window =
        next.unit === 'HU' ? { ...(next.fileWindow ?? ABDOMEN_WINDOW) } : { centre: 127.5, width: 255 };
    }
    this.z = previous ? synchronisedSlice(previous, z, next) : Math.floor(next.geometry.dimensions[2] / 2);
    this.render();
  }

  private setSlice(z: number): void {
    const count = this.current.geometry.dimensions[2];
    this.z = Math.max(0, Math.min(count - 1, z));
    this.draw();
  }

  private setWindow(window: DisplayWindow): void {
    this.window = {
      centre: Math.round(window.centre * 10) / 10,
      width: Math.max(1, Math.round(window.width * 10) / 10),
    };
    this.draw();
  }

  /** Rebuilds the toolbar and labels (after a series or language change); the canvas is kept. */
  render(): void {
    this.element.replaceChildren();
    if (this.series.length === 0) {
      this.element.append(h('p', { class: 'notice' }, t('viewer.noSeries')));
      return;
    }
    const series = this.current;
    const phaseButtons = h(
      'div',
      { class: 'phase-tabs', role: 'tablist' },
      ...this.series.map((s, index) =>
        h(
          'button',
          {
            type: 'button',
            role: 'tab',
            class: index === this.seriesIndex ? 'active' : '',
            'aria-selected': index === this.seriesIndex ? 'true' : 'false',
            'data-testid': `phase-${s.phase}-${index}`,
            onclick: () => this.selectSeries(index, this.z),
          },
          t(`phase.${s.phase}` as MessageKey) + (s.description ? ` · ${s.description}` : ''),
        ),
      ),
    );
    const isHu = series.unit === 'HU';
    const preset = (key: MessageKey, window: DisplayWindow, testId: string, enabled = isHu) =>
      h(
        'button',
        { type: 'button', 'data-testid': testId, disabled: !enabled, onclick: () => this.setWindow(window) },
        t(key),
      );
    const toolbar = h(
      'div',
      { class: 'toolbar' },
      preset('viewer.preset.liver', LIVER_WINDOW, 'preset-liver'),
      preset('viewer.preset.abdomen', ABDOMEN_WINDOW, 'preset-abdomen'),
      series.fileWindow ? preset('viewer.preset.file', series.fileWindow, 'preset-file', true) : null,
      h(
        'button',
        { type: 'button', 'data-testid': 'preset-full', onclick: () => this.fullRangeWindow() },
        t('viewer.preset.full'),
      ),
      h('span', { class: 'separator' }),
      h(
        'button',
        {
          type: 'button',
          title: t('viewer.zoomIn'),
          'data-testid': 'zoom-in',
          onclick: () => this.setZoom(this.zoom * 1.25),
        },
        '+',
      ),
      h(
        'button',
        {
          type: 'button',
          title: t('viewer.zoomOut'),
          'data-testid': 'zoom-out',
          onclick: () => this.setZoom(this.zoom / 1.25),
        },
        '−',
      ),
      h(
        'button',
        { type: 'button', 'data-testid': 'zoom-fit', onclick: () => this.fit() },
        t('viewer.zoomFit'),
      ),
      h('span', { class: 'separator' }),
      this.toggle('viewer.boxes', this.showBoxes, 'toggle-boxes', (on) => (this.showBoxes = on)),
      this.toggle('viewer.heatmap', this.showHeatmap, 'toggle-heatmap', (on) => (this.showHeatmap = on)),
    );
    this.slider.max = String(series.geometry.dimensions[2] - 1);
    this.element.append(phaseButtons, toolbar);
    if (!isHu) this.element.append(h('p', { class: 'notice small' }, t('viewer.presetsNeedHu')));
    this.element.append(
      h('div', { class: 'canvas-frame' }, this.canvas),
      this.slider,
      this.statusLine,
      h('p', { class: 'help small' }, t('viewer.help')),
    );
    this.draw();
  }

  private toggle(key: MessageKey, checked: boolean, testId: string, set: (on: boolean) => void): HTMLElement {
    const input = h('input', { type: 'checkbox', 'data-testid': testId, checked });
    input.addEventListener('change', () => {
      set(input.checked);
      this.draw();
    });
    return h('label', { class: 'toggle' }, input, t(key));
  }

  private setZoom(zoom: number): void {
    this.zoom = Math.max(0.25, Math.min(16, zoom));
    this.draw();
  }

  private fit(): void {
    this.zoom = 1;
    this.pan = { x: 0, y: 0 };
    this.draw();
  }

  private fullRangeWindow(): void {
    const data = this.cache.get(this.current, this.z);
    if (!data) return;
    let min = Infinity;
    let max = -Infinity;
    for (const value of data) {
      if (value < min) min = value;
      if (value > max) max = value;
    }
    this.setWindow({ centre: (min + max) / 2, width: Math.max(1, max - min) });
  }

  private bindInput(): void {
    this.canvas.addEventListener(
      'wheel',
      (event) => {
        event.preventDefault();
        if (event.ctrlKey) this.setZoom(this.zoom * (event.deltaY < 0 ? 1.1 : 1 / 1.1));
        else this.setSlice(this.z + Math.sign(event.deltaY));
      },
      { passive: false },
    );
    this.canvas.addEventListener('keydown', (event) => {
      const steps: Record<string, number> = {
        ArrowUp: -1,
        ArrowLeft: -1,
        ArrowDown: 1,
        ArrowRight: 1,
        PageUp: -10,
        PageDown: 10,
      };
      if (event.key in steps) this.setSlice(this.z + steps[event.key]);
      else if (event.key === 'Home') this.setSlice(0);
      else if (event.key === 'End') this.setSlice(Number.MAX_SAFE_INTEGER);
      else if (event.key === '+' || event.key === '=') this.setZoom(this.zoom * 1.25);
      else if (event.key === '-') this.setZoom(this.zoom / 1.25);
      else return;
      event.preventDefault();
    });
    this.slider.addEventListener('input', () => this.setSlice(Number(this.slider.value)));
    let drag: {
      x: number;
      y: number;
      window: DisplayWindow;
      pan: { x: number; y: number };
      panning: boolean;
    } | null = null;
    this.canvas.addEventListener('pointerdown', (event) => {
      this.canvas.setPointerCapture(event.pointerId);
      this.canvas.focus();
      drag = {
        x: event.clientX,
        y: event.clientY,
        window: { ...this.window },
        pan: { ...this.pan },
        panning: event.shiftKey || event.button === 1,
      };
    });
    this.canvas.addEventListener('pointermove', (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (drag.panning) {
        this.pan = { x: drag.pan.x + dx, y: drag.pan.y + dy };
        this.draw();
        return;
      }
      // One pixel of mouse travel changes the window by about 1/200 of its starting width.
      const step = Math.max(0.5, drag.window.width / 200);
      this.setWindow({
        width: Math.max(1, drag.window.width + dx * step),
        centre: drag.window.centre - dy * step,
      });
    });
    const end = () => (drag = null);
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
  }

  private ensureLut(series: SeriesInfo): number {
    const offset = series.voxelType === 'int16' ? 32768 : 0;
    const key = `${offset}:${this.window.centre}:${this.window.width}`;
    if (key !== this.lutKey) {
      fillWindowLut(this.lut, offset, this.window);
      this.lutKey = key;
    }
    return offset;
  }

  /** Draws the current slice, loading it first when needed; later calls supersede earlier pending ones. */
  draw(): void {
    if (this.series.length === 0) return;
    const series = this.current;
    const z = this.z;
    const [columns, rows, slices] = series.geometry.dimensions;
    this.slider.value = String(z);
    this.element.dataset.slice = String(z);
    this.element.dataset.window = `${this.window.width}/${this.window.centre}`;
    this.element.dataset.series = series.id;
    this.element.dataset.seriesKey = series.seriesKey;
    this.statusLine.textContent = `${t('viewer.slice', { index: z + 1, count: slices })} · ${t(
      'viewer.window',
      {
        width: this.window.width,
        centre: this.window.centre,
      },
    )} · ${t(`viewer.unit.${series.unit}` as MessageKey)} · ${Math.round(this.zoom * 100)}%`;
    const data = this.cache.get(series, z);
    if (!data) {
      this.cache.load(series, z).then(
        () => {
          if (this.current === series && this.z === z) this.draw();
        },
        (error: unknown) => {
          this.statusLine.textContent = String((error as Error).message);
        },
      );
      return;
    }
    this.paint(series, data, columns, rows, z);
    this.cache.prefetch(series, z, PREFETCH_RADIUS);
  }

  private paint(series: SeriesInfo, data: SliceData, columns: number, rows: number, z: number): void {
    const offset = this.ensureLut(series);
    if (this.offscreen.width !== columns || this.offscreen.height !== rows) {
      this.offscreen.width = columns;
      this.offscreen.height = rows;
    }
    const offscreenContext = this.offscreen.getContext('2d')!;
    // One ImageData per slice size, reused: a fresh 1 MB buffer per step would keep the garbage collector busy.
    if (!this.image || this.image.width !== columns || this.image.height !== rows) {
      this.image = offscreenContext.createImageData(columns, rows);
    }
    const image = this.image;
    const pixels = new Uint32Array(image.data.buffer);
    const lut = this.lut;
    for (let i = 0; i < data.length; i += 1) {
      const grey = lut[data[i] + offset];
      // Little-endian RGBA: alpha in the high byte.
      pixels[i] = 0xff000000 | (grey << 16) | (grey << 8) | grey;
    }
    offscreenContext.putImageData(image, 0, 0);

    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const context = canvas.getContext('2d')!;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.fillStyle = '#000';
    context.fillRect(0, 0, width, height);
    const scale = Math.min(width / columns, height / rows) * this.zoom;
    const left = (width - columns * scale) / 2 + this.pan.x * ratio;
    const top = (height - rows * scale) / 2 + this.pan.y * ratio;
    context.setTransform(scale, 0, 0, scale, left, top);
    context.imageSmoothingEnabled = scale < 1;
    context.drawImage(this.offscreen, 0, 0);
    this.drawOverlays(context, series, z, columns, rows, scale);
    canvas.dataset.rendered = `${series.id}:${z}`;
  }

  private drawOverlays(
    context: CanvasRenderingContext2D,
    series: SeriesInfo,
    z: number,
    columns: number,
    rows: number,
    scale: number,
  ): void {
    if (!this.report) return;
    const phases = this.report.lesions.flatMap((lesion) =>
      lesion.phases
        .filter((phase) => phase.seriesId === series.seriesKey)
        .map((phase) => ({ lesion, phase })),
    );
    // Each heatmap overlay is a whole slice image, so only one can show: that of the first lesion (the most
    // confident detection) with a heatmap on this slice. Boxes are drawn after it, so none is covered.
    let heatmapCount = 0;
    if (this.showHeatmap) {
      const path = phases
        .map(({ phase }) => phase.overlays.find((o) => o.sliceIndex === z && o.heatmap)?.heatmap)
        .find(Boolean);
      if (path) {
        const image = this.heatmapImage(path);
        if (image.complete && image.naturalWidth > 0) {
          context.drawImage(image, 0, 0, columns, rows);
          heatmapCount = 1;
        }
      }
    }
    let boxCount = 0;
    if (this.showBoxes) {
      context.lineWidth = 2 / scale;
      context.strokeStyle = '#ffcc00';
      context.fillStyle = '#ffcc00';
      context.font = `${14 / scale}px sans-serif`;
      for (const { lesion, phase } of phases) {
        for (const sliceBox of phase.boxes) {
          if (sliceBox.sliceIndex !== z) continue;
          const { x1, y1, x2, y2 } = sliceBox.box;
          context.strokeRect(x1, y1, x2 - x1, y2 - y1);
          const call = lesion.classification?.call;
          context.fillText(`${lesion.id}${call ? ` ${call}` : ''}`, x1, Math.max(12 / scale, y1 - 4 / scale));
          boxCount += 1;
        }
      }
    }
    this.canvas.dataset.boxes = String(boxCount);
    this.canvas.dataset.heatmaps = String(heatmapCount);
  }

  private heatmapImage(path: string): HTMLImageElement {
    let image = this.heatmaps.get(path);
    if (!image) {
      image = new Image();
      image.onload = () => this.draw();
      const name = path.split('/').pop() ?? path;
      image.src = `/api/cases/${this.caseId}/overlays/${encodeURIComponent(name)}`;
      this.heatmaps.set(path, image);
    }
    return image;
  }
}
