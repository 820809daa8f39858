// Types of bench/op-profile-join.mjs (plain Node on the GPU machine; typed here for its unit test).

export type OpClass = 'conv' | 'attention' | 'matmul' | 'dequantize' | 'norm' | 'elementwise' | 'layout' | 'other';
export declare const MAIN_CLASSES: readonly OpClass[];
export declare const REST_CLASSES: readonly OpClass[];
export declare const CLASSES: readonly OpClass[];
export declare const KERNEL_RULES: ReadonlyArray<readonly [OpClass, { test(name: string): boolean }]>;

export declare function classifyKernel(name: string): { cls: OpClass; known: boolean };

export interface KernelSummary {
  readonly name: string;
  readonly ms: number;
  readonly calls: number;
}
export interface DispatchProfileLike {
  readonly dispatches?: number;
  readonly totalKernelMs?: number;
  readonly byKernel: readonly KernelSummary[];
}
export interface OpClassFigures {
  readonly count: number;
  readonly flops: number;
  readonly bytes?: number;
  readonly torch_ms: number | null;
  readonly torch_ms_unsplit?: number | null;
  readonly untimed?: number;
  readonly ops?: Readonly<Record<string, number>>;
}
/** The parts of bench/op_profile.py's JSON that the join reads. */
export interface OpProfile {
  readonly meta?: { peak_tflops?: number; peak_source?: string; gpu?: string; dims?: Record<string, number> };
  readonly classes: Partial<Record<OpClass | 'free', OpClassFigures>>;
  readonly ort_webgpu?: { conv_weight_transposes?: number; conv_weight_transpose_bytes?: number; graph_transposes?: number };
  readonly shape_inference?: { methods?: string[]; unshaped?: number };
}
export interface JoinedRow {
  readonly label: string;
  readonly classes: readonly OpClass[];
  readonly ms: number | null;
  readonly dispatches: number | null;
  readonly nodes: number | null;
  readonly flops: number | null;
  readonly bytes: number | null;
  readonly tflops: number | null;
  readonly pctPeak: number | null;
  readonly torchMs: number | null;
  readonly torchMsUnsplit: number | null;
  readonly untimed: number | null;
  readonly ratio: number | null;
}
export interface Joined {
  readonly peakTflops: number | null;
  readonly peakSource: string | null;
  /** Set when the profiled UNet call's sample shape differs from op_profile.py's dims. */
  readonly mismatch: string | null;
  readonly rows: readonly JoinedRow[];
  readonly kernels: Readonly<Record<OpClass, readonly KernelSummary[]>>;
  readonly unknownKernels: readonly string[];
  readonly unlisted: { ms: number; calls: number } | null;
  readonly totalKernelMs: number | null;
  readonly freeNodes: number | null;
  readonly graphOps: Readonly<Record<OpClass, Readonly<Record<string, number>>>> | null;
  readonly transposes: { dispatches: number; graph: number | null; convWeights: number | null; convWeightBytes: number | null };
  readonly unetCallMs: number | null;
}

export declare function joinProfile(
  profileOrResult: DispatchProfileLike | { profile?: DispatchProfileLike | null; sync?: unknown; adapter?: string } | null,
  ops: OpProfile | null,
  options?: { peakTflops?: number; peakSource?: string },
): Joined;
export declare function renderMarkdown(joined: Joined): string;
