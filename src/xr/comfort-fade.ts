/**
 * Fade between scenes: fade to black, swap the scene while nothing is visible, fade back in.
 * A sudden change of everything around the viewer is one of the strongest triggers of VR
 * discomfort; a short fade hides the cut.
 *
 * `FadeMachine` is the pure timing core (no three, no clock of its own: the caller passes the
 * time); `FadeVeil` is the black sphere around the head that shows its opacity. Every scene
 * change in VR (generated, opened from the gallery, imported) goes through one FadeMachine, owned
 * by the viewer.
 */
import { BackSide, Mesh, MeshBasicMaterial, SphereGeometry, type Camera, type Object3D } from 'three';

/** Seconds to fade out and, again, to fade in. */
export const FADE_SECONDS = 0.3;

const EPSILON = 1e-6;

export type FadePhase = 'idle' | 'out' | 'in';

/**
 *   idle --request--> out --(opacity reaches 1: swap runs)--> in --(opacity reaches 0)--> idle
 *   a request while fading out replaces the pending swap (only the newest scene matters);
 *   a request while fading in turns back toward black from the current opacity.
 */
export class FadeMachine {
  private phase_: FadePhase = 'idle';
  private opacity_ = 0;
  private last: number | null = null;
  private pending: (() => void) | null = null;

  constructor(private readonly seconds = FADE_SECONDS) {}

  get phase(): FadePhase {
    return this.phase_;
  }

  /** 0 = scene fully visible, 1 = black. */
  get opacity(): number {
    return this.opacity_;
  }

  /** Fades out, runs `swap` when black, fades in. */
  request(swap: () => void): void {
    this.pending = swap;
    if (this.phase_ !== 'out') {
      this.phase_ = 'out';
      this.last = null; // the next update starts the clock
    }
  }

  /**
   * Advances to time `nowSeconds` (any monotonic clock). Returns the opacity to draw. Long gaps
   * between frames only shorten the fade; they never skip the swap.
   */
  update(nowSeconds: number): number {
    if (this.phase_ === 'idle') return 0;
    const dt = this.last === null ? 0 : Math.max(0, nowSeconds - this.last);
    this.last = nowSeconds;
    const rate = this.seconds > 0 ? dt / this.seconds : Infinity;
    if (this.phase_ === 'out') {
      this.opacity_ = Math.min(1, this.opacity_ + rate);
      // Sums of frame times land a rounding error short of the end: count that as the end.
      if (this.opacity_ >= 1 - EPSILON) {
        this.opacity_ = 1;
        this.runPending();
      }
    } else {
      this.opacity_ = Math.max(0, this.opacity_ - rate);
      if (this.opacity_ <= EPSILON) {
        this.opacity_ = 0;
        this.phase_ = 'idle';
        this.last = null;
      }
    }
    return this.opacity_;
  }

  /** Runs a pending swap now and clears the veil (leaving VR: no frames will drive the fade). */
  flush(): void {
    const swap = this.pending;
    this.pending = null;
    this.phase_ = 'idle';
    this.opacity_ = 0;
    this.last = null;
    swap?.();
  }

  private runPending(): void {
    const swap = this.pending;
    this.pending = null;
    this.phase_ = 'in';
    // A swap that throws must not leave the viewer in the dark: the fade-in goes on regardless.
    try {
      swap?.();
    } catch (e) {
      console.error(e);
    }
  }
}

/**
 * A small black sphere centred on the head, drawn over everything. Owns its geometry and
 * material; `dispose()` frees them.
 */
export class FadeVeil {
  readonly mesh: Mesh<SphereGeometry, MeshBasicMaterial>;

  constructor() {
    const material = new MeshBasicMaterial({ color: 0x000000, side: BackSide, transparent: true, opacity: 0, depthTest: false, depthWrite: false });
    this.mesh = new Mesh(new SphereGeometry(0.25, 16, 8), material);
    this.mesh.name = 'fade-veil';
    this.mesh.renderOrder = 1000; // after the panorama and the panels
    this.mesh.frustumCulled = false;
    this.mesh.visible = false;
  }

  /** Per frame: follow the head (world position of `head`), show `opacity`. No allocation. */
  update(head: Camera | Object3D, opacity: number): void {
    this.mesh.visible = opacity > 0;
    if (!this.mesh.visible) return;
    this.mesh.material.opacity = opacity;
    head.getWorldPosition(this.mesh.position);
    this.mesh.parent?.worldToLocal(this.mesh.position);
  }

  dispose(): void {
    this.mesh.removeFromParent();
    this.mesh.geometry.dispose();
    this.mesh.material.dispose();
  }
}
