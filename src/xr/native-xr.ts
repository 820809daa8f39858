/**
 * Chromium exposes `navigator.xr` on every desktop, even with no headset attached. IWER 2.5 (the
 * emulator @react-three/xr 6.6 loads) refuses to install over any native `navigator.xr` unless
 * forced, and @react-three/xr does not force it, so on a desktop the emulator never arrived and
 * "Enter VR" failed with "No XR hardware found". When the native runtime can run neither VR nor
 * AR, we hide it before the XR store is created; the store then injects the emulator as intended.
 * On a headset (or a PC with an OpenXR runtime) nothing changes.
 */
export async function hideNativeXRWithoutDevices(nav: Navigator = navigator): Promise<boolean> {
  const xr = nav.xr;
  if (!xr) return false;
  const supported = async (mode: XRSessionMode): Promise<boolean> => {
    try {
      return await xr.isSessionSupported(mode);
    } catch {
      return false;
    }
  };
  const [vr, ar] = await Promise.all([supported('immersive-vr'), supported('immersive-ar')]);
  if (vr || ar) return false;
  // An own property on the instance shadows the prototype getter; configurable, so the
  // emulator can define its own navigator.xr over it.
  Object.defineProperty(nav, 'xr', { value: undefined, configurable: true, writable: true });
  return true;
}
