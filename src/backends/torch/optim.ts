/**
 * Stochastic gradient descent with momentum and weight decay, with torch.optim.SGD's update rule (PyTorch
 * 1.13): `d = grad + weightDecay * p`; the momentum buffer starts as `d` and then becomes
 * `momentum * buf + (1 - dampening) * d`; `p -= lr * buf` (or `lr * (d + momentum * buf)` with Nesterov).
 * Weight decay applies to every parameter given, as in the LiLNet recipe.
 */
import { LilnetError } from '../../errors.ts';
import { callNative } from './native.ts';
import { TorchTensor, keep } from './tensor.ts';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class Sgd {
  readonly params: readonly TorchTensor[];
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  #buffers: (TorchTensor | null)[];

  constructor(params: readonly TorchTensor[], options: SgdOptions) {
    for (const [name, value] of Object.entries(options)) {
      if (typeof value === 'number' && (!Number.isFinite(value) || value < 0)) {
        throw new LilnetError(
          'INVALID_ARGUMENT',
          `SGD option ${name} = ${value} must be a finite number >= 0`,
        );
      }
    }
    if (options.nesterov && (!options.momentum || options.dampening)) {
      throw new LilnetError('INVALID_ARGUMENT', 'Nesterov momentum needs a momentum > 0 and zero dampening');
    }
    this.params = [...params];
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.#buffers = this.params.map(() => null);
  }

  /** Updates every parameter that has a gradient, in place and without autograd. */
  step(): void {
    // The handles are read inside callNative so that a disposed parameter's error names the call.
    const after = callNative('sgdStep', (t) =>
      t.sgdStep(
        this.params.map((p) => p.handle),
        this.#buffers.map((b) => (b ? b.handle : null)),
        this.lr,
        this.momentum,
        this.dampening,
        this.weightDecay,
        this.nesterov,
      ),
    );
    after.forEach((handle, i) => {
      if (handle !== null && this.#buffers[i] === null)
        this.#buffers[i] = keep(new TorchTensor(handle, false));
    });
  }

  /** Clears the gradients of every parameter (dropped, as `zero_grad(set_to_none=True)`, unless `setToNone` is false). */
  zeroGrad(setToNone = true): void {
    callNative('zeroGrad', (t) =>
      t.zeroGrad(
        this.params.map((p) => p.handle),
        setToNone,
      ),
    );
  }

  /** Returns the momentum buffers in parameter order, with null where a parameter has not been stepped yet. */
  momentumBuffers(): readonly (TorchTensor | null)[] {
    return this.#buffers;
  }

  /** Replaces the momentum buffers (from a checkpoint); values are copied, shapes must match the parameters. */
  loadMomentumBuffers(values: readonly (Float32Array | null)[]): void {
    if (values.length !== this.params.length) {
      throw new LilnetError(
        'INVALID_ARGUMENT',
        `${values.length} momentum buffers given for ${this.params.length} parameters`,
      );
    }
    values.forEach((data, i) => {
      this.#buffers[i]?.dispose();
      this.#buffers[i] = null;
      if (data === null) return;
      const shape = this.params[i].shape;
      const expected = shape.reduce((product, dim) => product * dim, 1);
      if (data.length !== expected) {
        throw new LilnetError(
          'INVALID_ARGUMENT',
          `momentum buffer ${i} has ${data.length} values; its parameter has shape [${shape.join(', ')}]`,
        );
      }
      this.#buffers[i] = new TorchTensor(
        callNative('fromFloat32', (t) => t.fromFloat32(data, shape)),
        false,
      );
    });
  }

  /** Releases the momentum buffers. */
  dispose(): void {
    for (const buffer of this.#buffers) buffer?.dispose();
    this.#buffers = this.params.map(() => null);
  }
}
