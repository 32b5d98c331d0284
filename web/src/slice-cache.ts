/** Fetched slices of one case, least recently used dropped first, with a small pool of concurrent requests. */
import { fetchSlice, type SeriesInfo } from './api.ts';

export type SliceData = Int16Array | Uint16Array;

const MAX_SLICES = 400;
const MAX_REQUESTS = 4;

export class SliceCache {
  private readonly slices = new Map<string, SliceData>();
  private readonly pending = new Map<string, Promise<SliceData>>();
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly caseId: string) {}

  get(series: SeriesInfo, z: number): SliceData | undefined {
    const key = `${series.id}:${z}`;
    const data = this.slices.get(key);
    if (data) {
      // Re-insert to mark as most recently used.
      this.slices.delete(key);
      this.slices.set(key, data);
    }
    return data;
  }

  load(series: SeriesInfo, z: number): Promise<SliceData> {
    const key = `${series.id}:${z}`;
    const cached = this.get(series, z);
    if (cached) return Promise.resolve(cached);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const promise = this.throttle(async () => {
      const buffer = await fetchSlice(this.caseId, series.id, z);
      return series.voxelType === 'int16' ? new Int16Array(buffer) : new Uint16Array(buffer);
    }).then((data) => {
      this.pending.delete(key);
      this.slices.set(key, data);
      while (this.slices.size > MAX_SLICES) this.slices.delete(this.slices.keys().next().value as string);
      return data;
    });
    promise.catch(() => this.pending.delete(key));
    this.pending.set(key, promise);
    return promise;
  }

  /** Loads the slices around z, nearest first, without waiting. */
  prefetch(series: SeriesInfo, z: number, radius: number): void {
    const count = series.geometry.dimensions[2];
    for (let step = 1; step <= radius; step += 1) {
      for (const neighbour of [z + step, z - step]) {
        if (neighbour >= 0 && neighbour < count) this.load(series, neighbour).catch(() => undefined);
      }
    }
  }

  private throttle<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        this.active += 1;
        task()
          .then(resolve, reject)
          .finally(() => {
            this.active -= 1;
            // Newest first: while scrolling, the slice on screen matters more than earlier prefetches.
            this.queue.pop()?.();
          });
      };
      if (this.active < MAX_REQUESTS) run();
      else this.queue.push(run);
    });
  }
}
