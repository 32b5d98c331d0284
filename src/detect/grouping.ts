/**
 * Grouping of per-slice boxes into lesions. Within one phase, boxes on slices at most `maxSliceGap` apart whose
 * overlap reaches `minOverlap` belong to the same lesion (connected components). The per-phase groups are then
 * joined across phases when their slice-position ranges meet and their in-plane extents overlap, so one lesion
 * reports a slice range and a best slice for every phase it was seen in.
 */
import type { Series } from '../imaging/volume.ts';
import { boxOverlapOfSmaller, type Box } from './box.ts';

/** The boxes found on one slice of one phase. */
export interface SliceDetections {
  /** Phase name, e.g. `AP`, `PVP`, `NC` or `unknown`. */
  phase: string;
  /** Slice index within its series (z = 0 first along the slice normal). */
  sliceIndex: number;
  /** Position of the slice along the slice normal in mm; when absent, the slice index is used. */
  positionMm?: number;
  /** Pixel spacing [between columns, between rows] in mm; absent when the images carry none. */
  pixelSpacingMm?: [number, number];
  boxes: (Box & { score: number })[];
}

export interface GroupingOptions {
  /** Minimum intersection over the smaller box for two boxes to join (default 0.25). */
  minOverlap?: number;
  /** Boxes join across at most this many slices: 1 joins direct neighbours only (default 1). */
  maxSliceGap?: number;
}

export interface LesionBox extends Box {
  sliceIndex: number;
  score: number;
}

/** Extent of one lesion in one phase. */
export interface LesionPhaseExtent {
  phase: string;
  firstSlice: number;
  lastSlice: number;
  /** Slice of the highest-scoring box, and that box (the slice a classifier crop should come from). */
  bestSlice: number;
  bestBox: LesionBox;
  /** Slice whose box has the largest in-plane diameter. */
  largestSlice: number;
  boxes: LesionBox[];
}

export interface GroupedLesion {
  /** 1-based, in order of decreasing maximum score. */
  id: number;
  maxScore: number;
  phases: LesionPhaseExtent[];
  /** Largest box side over all slices and phases, in pixels. */
  maxDiameterPx: number;
  /** The same in mm; null unless every box of the lesion comes from a slice with known pixel spacing. */
  maxDiameterMm: number | null;
}

export const DEFAULT_MIN_OVERLAP = 0.25;
export const DEFAULT_MAX_SLICE_GAP = 1;

interface Node {
  phase: string;
  sliceIndex: number;
  positionMm: number;
  pixelSpacingMm: [number, number] | undefined;
  box: LesionBox;
}

class DisjointSets {
  private readonly parent: number[];
  constructor(size: number) {
    this.parent = Array.from({ length: size }, (_, index) => index);
  }
  find(index: number): number {
    while (this.parent[index] !== index) {
      this.parent[index] = this.parent[this.parent[index]];
      index = this.parent[index];
    }
    return index;
  }
  union(a: number, b: number): void {
    const rootA = this.find(a);
    const rootB = this.find(b);
    if (rootA !== rootB) this.parent[Math.max(rootA, rootB)] = Math.min(rootA, rootB);
  }
  components(): number[][] {
    const byRoot = new Map<number, number[]>();
    for (let index = 0; index < this.parent.length; index++) {
      const root = this.find(index);
      const members = byRoot.get(root);
      if (members) members.push(index);
      else byRoot.set(root, [index]);
    }
    return [...byRoot.values()];
  }
}

/**
 * Box side as the lesion diameter: the larger of width and height. A box bounds the lesion, so this is at most
 * the true longest axis and at least its projection on either image axis.
 */
function boxDiameter(box: Box, pixelSpacingMm?: [number, number]): number {
  const [columnSpacing, rowSpacing] = pixelSpacingMm ?? [1, 1];
  return Math.max((box.x2 - box.x1) * columnSpacing, (box.y2 - box.y1) * rowSpacing);
}

function unionBox(boxes: readonly Box[]): Box {
  return {
    x1: Math.min(...boxes.map((box) => box.x1)),
    y1: Math.min(...boxes.map((box) => box.y1)),
    x2: Math.max(...boxes.map((box) => box.x2)),
    y2: Math.max(...boxes.map((box) => box.y2)),
  };
}

/** Groups the boxes of the given slices (any phases, any order) into lesions. */
export function groupLesions(
  slices: readonly SliceDetections[],
  options: GroupingOptions = {},
): GroupedLesion[] {
  const minOverlap = options.minOverlap ?? DEFAULT_MIN_OVERLAP;
  const maxSliceGap = options.maxSliceGap ?? DEFAULT_MAX_SLICE_GAP;
  if (!(maxSliceGap >= 1 && Number.isInteger(maxSliceGap)))
    throw new RangeError(`maxSliceGap must be an integer >= 1, got ${maxSliceGap}`);

  const nodes: Node[] = [];
  for (const slice of slices) {
    for (const box of slice.boxes) {
      nodes.push({
        phase: slice.phase,
        sliceIndex: slice.sliceIndex,
        positionMm: slice.positionMm ?? slice.sliceIndex,
        pixelSpacingMm: slice.pixelSpacingMm,
        box: {
          x1: box.x1,
          y1: box.y1,
          x2: box.x2,
          y2: box.y2,
          score: box.score,
          sliceIndex: slice.sliceIndex,
        },
      });
    }
  }

  // Step 1: connected components within each phase, across neighbouring slices.
  const withinPhase = new DisjointSets(nodes.length);
  for (let a = 0; a < nodes.length; a++) {
    for (let b = a + 1; b < nodes.length; b++) {
      const gap = Math.abs(nodes[a].sliceIndex - nodes[b].sliceIndex);
      if (nodes[a].phase !== nodes[b].phase || gap === 0 || gap > maxSliceGap) continue;
      if (boxOverlapOfSmaller(nodes[a].box, nodes[b].box) >= minOverlap) withinPhase.union(a, b);
    }
  }
  const phaseGroups = withinPhase.components().map((members) => {
    const groupNodes = members.map((index) => nodes[index]);
    const positions = groupNodes.map((node) => node.positionMm);
    const spacing = estimateSliceSpacing(slices, groupNodes[0].phase);
    return {
      phase: groupNodes[0].phase,
      nodes: groupNodes,
      extent: unionBox(groupNodes.map((node) => node.box)),
      firstPositionMm: Math.min(...positions) - spacing / 2,
      lastPositionMm: Math.max(...positions) + spacing / 2,
    };
  });

  // Step 2: join groups of different phases that occupy the same place.
  const acrossPhases = new DisjointSets(phaseGroups.length);
  for (let a = 0; a < phaseGroups.length; a++) {
    for (let b = a + 1; b < phaseGroups.length; b++) {
      const groupA = phaseGroups[a];
      const groupB = phaseGroups[b];
      if (groupA.phase === groupB.phase) continue;
      const rangesMeet =
        groupA.firstPositionMm <= groupB.lastPositionMm && groupB.firstPositionMm <= groupA.lastPositionMm;
      if (rangesMeet && boxOverlapOfSmaller(groupA.extent, groupB.extent) >= minOverlap)
        acrossPhases.union(a, b);
    }
  }

  const lesions = acrossPhases.components().map((members) => {
    const groupNodes = members.flatMap((index) => phaseGroups[index].nodes);
    return buildLesion(groupNodes);
  });
  lesions.sort((a, b) => b.maxScore - a.maxScore);
  lesions.forEach((lesion, index) => (lesion.id = index + 1));
  return lesions;
}

/** Median distance between consecutive slice positions of a phase, 1 when there are fewer than two positions. */
function estimateSliceSpacing(slices: readonly SliceDetections[], phase: string): number {
  const positions = slices
    .filter((slice) => slice.phase === phase)
    .map((slice) => slice.positionMm ?? slice.sliceIndex)
    .sort((a, b) => a - b);
  const steps: number[] = [];
  for (let index = 1; index < positions.length; index++) {
    const step = positions[index] - positions[index - 1];
    if (step > 0) steps.push(step);
  }
  if (steps.length === 0) return 1;
  steps.sort((a, b) => a - b);
  return steps[Math.floor(steps.length / 2)];
}

function buildLesion(nodes: Node[]): GroupedLesion {
  const byPhase = new Map<string, Node[]>();
  for (const node of nodes) {
    const list = byPhase.get(node.phase);
    if (list) list.push(node);
    else byPhase.set(node.phase, [node]);
  }
  const phases: LesionPhaseExtent[] = [];
  for (const [phase, phaseNodes] of byPhase) {
    phaseNodes.sort((a, b) => a.sliceIndex - b.sliceIndex || b.box.score - a.box.score);
    let best = phaseNodes[0];
    let largest = phaseNodes[0];
    for (const node of phaseNodes) {
      if (node.box.score > best.box.score) best = node;
      if (boxDiameter(node.box, node.pixelSpacingMm) > boxDiameter(largest.box, largest.pixelSpacingMm))
        largest = node;
    }
    phases.push({
      phase,
      firstSlice: phaseNodes[0].sliceIndex,
      lastSlice: phaseNodes[phaseNodes.length - 1].sliceIndex,
      bestSlice: best.sliceIndex,
      bestBox: best.box,
      largestSlice: largest.sliceIndex,
      boxes: phaseNodes.map((node) => node.box),
    });
  }
  phases.sort((a, b) => a.phase.localeCompare(b.phase));
  const spacingKnown = nodes.every((node) => node.pixelSpacingMm !== undefined);
  return {
    id: 0,
    maxScore: Math.max(...nodes.map((node) => node.box.score)),
    phases,
    maxDiameterPx: Math.max(...nodes.map((node) => boxDiameter(node.box))),
    maxDiameterMm: spacingKnown
      ? Math.max(...nodes.map((node) => boxDiameter(node.box, node.pixelSpacingMm)))
      : null,
  };
}

/**
 * Builds the grouping input of one series from its per-slice boxes: phase, slice positions along the normal
 * (from the origin and direction when known) and pixel spacing when the files carry it.
 */
export function sliceDetectionsFromSeries(
  series: Series,
  boxesPerSlice: readonly (readonly (Box & { score: number })[])[],
): SliceDetections[] {
  const { geometry } = series;
  const [, , sliceCount] = geometry.dimensions;
  if (boxesPerSlice.length !== sliceCount) {
    throw new RangeError(
      `series ${series.id} has ${sliceCount} slices but ${boxesPerSlice.length} box lists were given`,
    );
  }
  const normal = geometry.direction.slice;
  const originAlongNormal = geometry.originMm
    ? geometry.originMm[0] * normal[0] + geometry.originMm[1] * normal[1] + geometry.originMm[2] * normal[2]
    : 0;
  return boxesPerSlice.map((boxes, sliceIndex) => {
    const slice: SliceDetections = {
      phase: series.phase,
      sliceIndex,
      positionMm: originAlongNormal + sliceIndex * geometry.spacingMm[2],
      boxes: [...boxes],
    };
    if (geometry.spacingKnown) slice.pixelSpacingMm = [geometry.spacingMm[0], geometry.spacingMm[1]];
    return slice;
  });
}
