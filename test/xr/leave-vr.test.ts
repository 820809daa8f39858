import { describe, expect, it } from 'vitest';
import { createStore } from 'zustand/vanilla';
import type { GenerationStatus } from '../../src/state/generation';
import { LEFT_VR_WHILE_GENERATING, watchLeaveVR } from '../../src/xr/leave-vr';

function setup(status: GenerationStatus) {
  const xr = createStore<{ session: object | null }>(() => ({ session: null }));
  const generation = createStore<{ status: GenerationStatus }>(() => ({ status }));
  const said: string[] = [];
  const stop = watchLeaveVR(xr, generation, (t) => said.push(t));
  return { xr, generation, said, stop };
}

describe('leaving VR while generating', () => {
  for (const status of ['planning', 'loading', 'generating'] as const) {
    it(`a session that ends while the job is ${status} tells the user it goes on and how to stop it`, () => {
      const { xr, said } = setup(status);
      xr.setState({ session: {} });
      expect(said).toEqual([]);
      xr.setState({ session: null });
      expect(said).toEqual([LEFT_VR_WHILE_GENERATING]);
      expect(said[0]).toMatch(/goes on/);
      expect(said[0]).toMatch(/Cancel/);
    });
  }

  for (const status of ['idle', 'cancelling', 'error'] as const) {
    it(`says nothing when the job is ${status}`, () => {
      const { xr, said } = setup(status);
      xr.setState({ session: {} });
      xr.setState({ session: null });
      expect(said).toEqual([]);
    });
  }

  it('says nothing on entering VR or on other store changes, and stops when unsubscribed', () => {
    const { xr, said, stop } = setup('generating');
    xr.setState({ session: {} });
    xr.setState({ session: {} });
    expect(said).toEqual([]);
    stop();
    xr.setState({ session: null });
    expect(said).toEqual([]);
  });
});
