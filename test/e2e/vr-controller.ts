// Driving the VR panels the way a user does, through the IWER emulator in the page (issue 14 item 9):
// aim the right controller's ray at a panel element and pull the trigger.
//
// Why the earlier tests could not:
// - The emulator's DevUI owns the controller poses and copies its own transform handles into the
//   device at the start of every XR frame, so writing XRDevice.controllers.right.position /
//   quaternion is undone one frame later; the handles are what must be moved.
// - The press must come after the ray has been on the target for a frame: the ray pointer computes
//   its intersection in a frame callback, and selectstart (dispatched at the next frame start) is
//   delivered to that intersection.
// - The cause of the missing clicks: @pmndrs/pointer-events only clicks when selectstart and
//   selectend are at most 300 ms apart, and here an XR frame of the app takes 400-800 ms (measured:
//   selectstart 18927.8 ms, selectend 19351.2 ms for a release one frame later), so every press was
//   a pointerdown + pointerup without a click. The app now allows CLICK_THRESHOLD_MS
//   (src/xr/xr-store.ts), which also keeps presses working on a headset whose frames slow down
//   while a generation holds the GPU. `tap` still releases on the very next frame.
import type { Page } from 'playwright-core';

export type Vec3 = [number, number, number];

/** World-space corners of a named panel element (src/ui/vr/vr-debug.ts), or throws. */
export async function cornersOf(page: Page, name: string): Promise<Vec3[]> {
  const c = await page.evaluate((n) => window.__ldm3dVR?.corners(n) ?? null, name);
  if (!c) throw new Error(`no VR element named ${JSON.stringify(name)} is mounted`);
  return c;
}

export function centreOf(corners: readonly Vec3[]): Vec3 {
  const s: Vec3 = [0, 0, 0];
  for (const c of corners) for (let i = 0; i < 3; i++) s[i] += c[i] / corners.length;
  return s;
}

/** Waits until the app has drawn `count` more XR/desktop frames. */
export async function xrFrames(page: Page, count: number): Promise<void> {
  const start = await page.evaluate(() => window.__ldm3d?.frames ?? 0);
  await page.waitForFunction(([s, c]) => (window.__ldm3d?.frames ?? 0) >= s + c, [start, count] as const, { timeout: 60_000, polling: 30 });
}

/**
 * Points the right controller (kept where it is) at `target` (world), through the DevUI's
 * transform handle, and waits until the app has rendered frames with that pose.
 */
export async function aimRight(page: Page, target: Vec3): Promise<void> {
  await page.evaluate((t) => {
    // Runtime objects of the emulator (iwer + @iwer/devui); the app's handle types only fovy.
    type V = { x: number; y: number; z: number; clone(): V; sub(o: V): V; normalize(): V; set(x: number, y: number, z: number): V };
    type Q = { clone(): Q; invert(): Q; multiply(o: Q): Q; copy(o: Q): Q; setFromUnitVectors(a: V, b: V): Q };
    type O = { parent: O; position: V; quaternion: Q; updateWorldMatrix(p: boolean, c: boolean): void; getWorldPosition(v: V): V; getWorldQuaternion(q: Q): Q };
    const device = window.__ldm3d?.emulator as unknown as { devui: { inputLayer: { transformHandles: Map<string, O> } } } | undefined;
    const h = device?.devui.inputLayer.transformHandles.get('right');
    if (!h) throw new Error('the emulator DevUI has no right controller handle');
    h.updateWorldMatrix(true, false);
    const from = h.getWorldPosition(h.position.clone());
    const dir = h.position.clone().set(t[0], t[1], t[2]).sub(from).normalize();
    const world = h.quaternion.clone().setFromUnitVectors(h.position.clone().set(0, 0, -1), dir);
    h.quaternion.copy(h.parent.getWorldQuaternion(h.quaternion.clone()).invert().multiply(world));
  }, target);
  // One frame copies the handle into the device, the next computes the ray's intersection.
  await xrFrames(page, 3);
}

/** Sets a button of the right or left emulated controller ('trigger', 'b-button', …). */
export async function setButton(page: Page, hand: 'left' | 'right', button: string, value: number): Promise<void> {
  await page.evaluate(
    ([h, b, v]) => {
      const device = window.__ldm3d?.emulator as unknown as { controllers: Record<string, { updateButtonValue(id: string, value: number): void }> } | undefined;
      const c = device?.controllers[h];
      if (!c) throw new Error(`no emulated ${h} controller`);
      c.updateButtonValue(b, v);
    },
    [hand, button, value] as const,
  );
}

/**
 * A press and release of `button` on one frame each: pressed now (applied at the next XR frame),
 * released from inside the XR frame callback that applied it (applied at the frame after), so the
 * two events are one frame apart however slow frames are.
 */
export async function tap(page: Page, hand: 'left' | 'right', button: string): Promise<void> {
  await page.evaluate(
    ([h, b]) =>
      new Promise<void>((resolve, reject) => {
        type Controller = { updateButtonValue(id: string, value: number): void; getButtonValue(id: string): number };
        const device = window.__ldm3d?.emulator as unknown as
          | { controllers: Record<string, Controller>; activeSession?: XRSession }
          | undefined;
        const c = device?.controllers[h];
        const session = device?.activeSession;
        if (!c || !session) return reject(new Error('no emulated controller or session'));
        c.updateButtonValue(b, 1);
        // The first XR frame callback runs after this frame's input events (selectstart).
        session.requestAnimationFrame(() => {
          c.updateButtonValue(b, 0);
          session.requestAnimationFrame(() => resolve());
        });
      }),
    [hand, button] as const,
  );
  await xrFrames(page, 2);
}

/** Aims the right ray at the centre of the named element and pulls the trigger once. */
export async function pressElement(page: Page, name: string): Promise<void> {
  await aimRight(page, centreOf(await cornersOf(page, name)));
  await tap(page, 'right', 'trigger');
}

/**
 * Projects world points with the eye camera's projection × view (column-major, from the page)
 * to pixels of a viewport of `width` × `height`; `behind` when the point is behind the eye.
 */
export function project(vp: readonly number[], p: Vec3, width: number, height: number): { x: number; y: number; behind: boolean } {
  const [x, y, z] = p;
  const cx = vp[0] * x + vp[4] * y + vp[8] * z + vp[12];
  const cy = vp[1] * x + vp[5] * y + vp[9] * z + vp[13];
  const cw = vp[3] * x + vp[7] * y + vp[11] * z + vp[15];
  return { x: ((cx / cw + 1) / 2) * width, y: ((1 - cy / cw) / 2) * height, behind: cw <= 0 };
}
