/**
 * The CPU executor of scheduler plans (WASM back end, tests): out ← Σ cᵢ·bufᵢ over Float32Arrays,
 * accumulated in float64 and stored as float32. The WebGPU executor (lincomb-gpu.ts) runs the same
 * plans with shaders/lincomb.wgsl.
 */
import type { LinOp, Plan, Slot, StepPlan, Term } from './schedulers/common';

/** A term resolved to memory: n elements of `data` starting at `offset`, times `c`. */
export interface CpuTerm {
  readonly data: Float32Array;
  readonly offset: number;
  readonly c: number;
}

export function lincombCpu(out: Float32Array, outOffset: number, n: number, terms: readonly CpuTerm[]): void {
  // Specialised loops for the common arities: this runs once per step on 32K–64K elements.
  if (terms.length === 1) {
    const [a] = terms;
    for (let i = 0; i < n; i++) out[outOffset + i] = a.c * a.data[a.offset + i];
    return;
  }
  if (terms.length === 2) {
    const [a, b] = terms;
    for (let i = 0; i < n; i++) out[outOffset + i] = a.c * a.data[a.offset + i] + b.c * b.data[b.offset + i];
    return;
  }
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (const t of terms) acc += t.c * t.data[t.offset + i];
    out[outOffset + i] = acc;
  }
}

/**
 * Expands the guided ε into the UNet output's halves: ε = ε_u + g·(ε_t − ε_u) = (1−g)·ε_u + g·ε_t
 * (diffusers' batch order is [uncond, text]). Without guidance the UNet output is ε itself.
 */
export function expandEps<T>(terms: readonly Term[], guidance: number | null, resolve: (slot: Slot) => T, uncond: T, text: T): Array<{ ref: T; c: number }> {
  const out: Array<{ ref: T; c: number }> = [];
  for (const term of terms) {
    if (term.slot !== 'eps') out.push({ ref: resolve(term.slot), c: term.c });
    else if (guidance === null) out.push({ ref: uncond, c: term.c });
    else {
      out.push({ ref: uncond, c: term.c * (1 - guidance) });
      out.push({ ref: text, c: term.c * guidance });
    }
  }
  return out;
}

/**
 * A plan's latent-sized buffers on the CPU. `x` is the current sample; history slots are allocated
 * from the plan. Used by the WASM back end and as the reference in the scheduler tests.
 */
export class CpuLatents {
  readonly x: Float32Array;
  private readonly slots = new Map<Slot, Float32Array>();

  /** x ← scale·initial; pass plan.initNoiseSigma as diffusers' prepare_latents does, or 1 for a raw trace. */
  constructor(
    readonly n: number,
    plan: Plan,
    initial: Float32Array,
    scale: number = plan.initNoiseSigma,
  ) {
    if (initial.length !== n) throw new RangeError(`initial latents have ${initial.length} elements, expected ${n}`);
    this.x = new Float32Array(n);
    lincombCpu(this.x, 0, n, [{ data: initial, offset: 0, c: scale }]);
    for (const s of plan.slots) this.slots.set(s, new Float32Array(n));
  }

  private buffer(slot: Slot): Float32Array {
    if (slot === 'x') return this.x;
    const b = this.slots.get(slot);
    if (!b) throw new Error(`plan uses slot "${slot}" it did not declare`);
    return b;
  }

  /** The UNet's sample input: `batch` copies of inputScale·x. */
  unetInput(step: StepPlan, batch: number, out: Float32Array = new Float32Array(batch * this.n)): Float32Array {
    for (let b = 0; b < batch; b++) lincombCpu(out, b * this.n, this.n, [{ data: this.x, offset: 0, c: step.inputScale }]);
    return out;
  }

  private resolve(terms: readonly Term[], eps: Float32Array, guidance: number | null): CpuTerm[] {
    return expandEps(terms, guidance, (s) => ({ data: this.buffer(s), offset: 0 }), { data: eps, offset: 0 }, { data: eps, offset: this.n }).map(
      ({ ref, c }) => ({ data: ref.data, offset: ref.offset, c }),
    );
  }

  /** x̂0 of this step into `out` (for the preview); call before `apply`. */
  predictX0(step: StepPlan, eps: Float32Array, guidance: number | null, out: Float32Array = new Float32Array(this.n)): Float32Array {
    lincombCpu(out, 0, this.n, this.resolve(step.x0, eps, guidance));
    return out;
  }

  /** Runs the step's ops; `eps` is the UNet output ([uncond; text] halves when guidance is set). */
  apply(step: StepPlan, eps: Float32Array, guidance: number | null): void {
    for (const op of step.ops as readonly LinOp[]) {
      lincombCpu(this.buffer(op.out), 0, this.n, this.resolve(op.terms, eps, guidance));
    }
  }
}
