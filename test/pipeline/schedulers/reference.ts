/**
 * Straight ports of diffusers' stateful step() functions (float64, arrays), to check that the
 * linear plans of src/pipeline/schedulers reproduce them step by step. They share only the noise
 * schedule (ᾱ, σ tables and timesteps) with the code under test; the update maths is written the
 * way diffusers writes it.
 */
import { alphasCumprod, readSchedulerConfig } from '../../../src/pipeline/schedulers/common';
import { ddimTimesteps } from '../../../src/pipeline/schedulers/ddim';
import { pndmTimesteps } from '../../../src/pipeline/schedulers/pndm';
import { EulerDiscreteScheduler, eulerTimesteps } from '../../../src/pipeline/schedulers/euler';
import { DPMSolverMultistepScheduler, dpmTimesteps } from '../../../src/pipeline/schedulers/dpm';

type Vec = Float64Array<ArrayBufferLike>;
const lin = (...terms: Array<[number, Vec]>): Vec => {
  const out = new Float64Array(terms[0][1].length);
  for (const [c, v] of terms) for (let i = 0; i < out.length; i++) out[i] += c * v[i];
  return out;
};

export interface RefScheduler {
  timesteps: number[];
  initNoiseSigma: number;
  scaleModelInput(x: Vec, i: number): Vec;
  step(eps: Vec, i: number, x: Vec): Vec;
}

type Raw = Readonly<Record<string, unknown>>;

export function refDdim(raw: Raw, n: number): RefScheduler {
  const cfg = readSchedulerConfig('ddim', raw);
  const ac = alphasCumprod(cfg);
  const finalAlpha = cfg.setAlphaToOne ? 1 : ac[0];
  const timesteps = ddimTimesteps(cfg, n);
  return {
    timesteps,
    initNoiseSigma: 1,
    scaleModelInput: (x) => x,
    step(eps, i, x) {
      const t = timesteps[i];
      const prev = t - Math.floor(cfg.numTrainTimesteps / n);
      const at = ac[t];
      const ap = prev >= 0 ? ac[prev] : finalAlpha;
      const bt = 1 - at;
      const x0 = lin([1 / at ** 0.5, x], [-(bt ** 0.5) / at ** 0.5, eps]);
      return lin([ap ** 0.5, x0], [(1 - ap) ** 0.5, eps]);
    },
  };
}

export function refPndm(raw: Raw, n: number): RefScheduler {
  const cfg = readSchedulerConfig('pndm', raw);
  const ac = alphasCumprod(cfg);
  const finalAlpha = cfg.setAlphaToOne ? 1 : ac[0];
  const timesteps = pndmTimesteps(cfg, n);
  const ratio = Math.floor(cfg.numTrainTimesteps / n);
  let ets: Vec[] = [];
  let counter = 0;
  let cur: Vec | null = null;
  const prevSample = (sample: Vec, t: number, prev: number, e: Vec): Vec => {
    const at = ac[t];
    const ap = prev >= 0 ? ac[prev] : finalAlpha;
    const bt = 1 - at;
    const bp = 1 - ap;
    const sc = (ap / at) ** 0.5;
    const denom = at * bp ** 0.5 + (at * bt * ap) ** 0.5;
    return lin([sc, sample], [-(ap - at) / denom, e]);
  };
  return {
    timesteps,
    initNoiseSigma: 1,
    scaleModelInput: (x) => x,
    step(eps, i, sample) {
      let t = timesteps[i];
      let prev = t - ratio;
      if (counter !== 1) {
        ets = ets.slice(-3);
        ets.push(eps);
      } else {
        prev = t;
        t = t + ratio;
      }
      let e: Vec;
      if (ets.length === 1 && counter === 0) {
        e = eps;
        cur = sample;
      } else if (ets.length === 1 && counter === 1) {
        e = lin([0.5, eps], [0.5, ets[ets.length - 1]]);
        sample = cur as Vec;
        cur = null;
      } else if (ets.length === 2) {
        e = lin([1.5, ets[1]], [-0.5, ets[0]]);
      } else if (ets.length === 3) {
        e = lin([23 / 12, ets[2]], [-16 / 12, ets[1]], [5 / 12, ets[0]]);
      } else {
        e = lin([55 / 24, ets[3]], [-59 / 24, ets[2]], [37 / 24, ets[1]], [-9 / 24, ets[0]]);
      }
      const out = prevSample(sample, t, prev, e);
      counter++;
      return out;
    },
  };
}

export function refEuler(raw: Raw, n: number): RefScheduler {
  const sched = new EulerDiscreteScheduler(raw);
  const timesteps = eulerTimesteps(sched.config, n);
  const sigmas = sched.sigmas(n);
  const maxSigma = Math.max(...sigmas);
  return {
    timesteps,
    initNoiseSigma: sched.config.timestepSpacing === 'leading' ? (maxSigma ** 2 + 1) ** 0.5 : maxSigma,
    scaleModelInput: (x, i) => lin([1 / (sigmas[i] ** 2 + 1) ** 0.5, x]),
    step(eps, i, x) {
      const sigma = sigmas[i];
      const x0 = lin([1, x], [-sigma, eps]);
      const derivative = lin([1 / sigma, x], [-1 / sigma, x0]);
      return lin([1, x], [sigmas[i + 1] - sigma, derivative]);
    },
  };
}

export function refDpm(raw: Raw, n: number): RefScheduler {
  const sched = new DPMSolverMultistepScheduler(raw);
  const timesteps = dpmTimesteps(sched.config, n);
  const sigmas = sched.sigmas(n);
  const alphaSigma = (s: number): [number, number] => {
    const a = 1 / (s * s + 1) ** 0.5;
    return [a, s * a];
  };
  const outputs: Array<Vec | null> = [null, null];
  let lowerOrderNums = 0;
  return {
    timesteps,
    initNoiseSigma: 1,
    scaleModelInput: (x) => x,
    step(eps, k, sample) {
      const lowerOrderFinal = k === timesteps.length - 1;
      const [a0, s0] = alphaSigma(sigmas[k]);
      const m = lin([1 / a0, sample], [-s0 / a0, eps]);
      outputs[0] = outputs[1];
      outputs[1] = m;
      const [at, st] = alphaSigma(sigmas[k + 1]);
      const lt = Math.log(at) - Math.log(st);
      const l0 = Math.log(a0) - Math.log(s0);
      const h = lt - l0;
      let out: Vec;
      if (lowerOrderNums < 1 || lowerOrderFinal) {
        out = lin([st / s0, sample], [-(at * (Math.exp(-h) - 1)), m]);
      } else {
        const [a1, s1] = alphaSigma(sigmas[k - 1]);
        const l1 = Math.log(a1) - Math.log(s1);
        const r0 = (l0 - l1) / h;
        const D1 = lin([1 / r0, m], [-1 / r0, outputs[0] as Vec]);
        out = lin([st / s0, sample], [-(at * (Math.exp(-h) - 1)), m], [-0.5 * (at * (Math.exp(-h) - 1)), D1]);
      }
      if (lowerOrderNums < 2) lowerOrderNums++;
      return out;
    },
  };
}
