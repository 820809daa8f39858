/**
 * Where the viewer stands relative to the panorama, on the desktop and in XR. Owns the rig group
 * (parent of the panorama mesh and the VR panel) and the desktop look controls. All per-frame
 * work is in `update`, which allocates nothing.
 */
import { Group, type Camera, type WebGLRenderer } from 'three';
import { DesktopLook } from './desktop-look';
import { recenterRig, resetRig } from './recenter';

export class ViewerRig {
  /** Parent of everything placed relative to the panorama's centre and front. */
  readonly group = new Group();
  private look: DesktopLook | null = null;
  private requestFrame: () => void = () => {};
  private recenterPending = false;
  private wasPresenting = false;
  /** The XR reference space whose 'reset' (the headset's own recenter gesture) we listen to. */
  private watchedSpace: XRReferenceSpace | null = null;
  private readonly onSpaceReset = (): void => {
    this.recenterPending = true;
  };

  constructor() {
    this.group.name = 'panorama-rig';
  }

  /**
   * Starts mouse/keyboard look on the canvas; returns the cleanup. `requestFrame` asks the
   * renderer for a frame (the desktop view renders on demand): looking around and recenter call it.
   */
  attachDesktopLook(surface: HTMLElement, requestFrame: () => void = () => {}): () => void {
    const look = new DesktopLook(surface, window, requestFrame);
    this.look = look;
    this.requestFrame = requestFrame;
    return () => {
      look.dispose();
      if (this.look === look) {
        this.look = null;
        this.requestFrame = () => {};
      }
    };
  }

  get lookAngles(): { readonly yaw: number; readonly pitch: number } {
    return this.look?.angles ?? { yaw: 0, pitch: 0 };
  }

  /** Recenter at the next frame (it needs the head pose of a frame in XR). */
  requestRecenter(): void {
    this.recenterPending = true;
    this.requestFrame();
  }

  /**
   * Per frame. In XR, a session start or a request places the rig at the head (position and
   * heading) using this frame's viewer pose; on the desktop the camera sits at the centre and
   * the look controls turn it.
   */
  update(gl: WebGLRenderer, camera: Camera, dt: number, frame: XRFrame | undefined): void {
    const presenting = gl.xr.isPresenting;
    if (presenting !== this.wasPresenting) {
      this.wasPresenting = presenting;
      if (presenting) {
        this.recenterPending = true;
      } else {
        // Leaving XR: back to the desktop view from the centre.
        this.watchReset(null);
        camera.position.set(0, 0, 0);
        resetRig(this.group);
        this.recenterPending = false;
      }
    }
    if (presenting) {
      const space = gl.xr.getReferenceSpace();
      this.watchReset(space);
      if (!this.recenterPending || frame === undefined) return;
      const pose = space ? frame.getViewerPose(space) : undefined;
      if (!pose) return; // tracking not ready yet: try again next frame
      recenterRig(this.group, pose.transform.position, pose.transform.orientation);
      this.recenterPending = false;
      return;
    }
    if (this.recenterPending) {
      this.look?.recenter();
      resetRig(this.group);
      this.recenterPending = false;
    }
    this.look?.update(camera, dt);
  }

  /**
   * The headset's own recenter (holding the Meta button) resets the reference space; the
   * panorama follows, so its front is again where the user looks.
   */
  private watchReset(space: XRReferenceSpace | null): void {
    if (space === this.watchedSpace) return;
    this.watchedSpace?.removeEventListener('reset', this.onSpaceReset);
    this.watchedSpace = space;
    space?.addEventListener('reset', this.onSpaceReset);
  }
}
