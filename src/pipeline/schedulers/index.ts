/** Scheduler factory: the name picks the class, the checkpoint's config fills it (diffusers' from_config). */
import { DDIMScheduler } from './ddim';
import { DPMSolverMultistepScheduler } from './dpm';
import { EulerDiscreteScheduler } from './euler';
import { PNDMScheduler } from './pndm';
import type { Scheduler, SchedulerName } from './common';

export * from './common';
export { DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler, PNDMScheduler };

export function createScheduler(name: SchedulerName, config: Readonly<Record<string, unknown>>): Scheduler {
  switch (name) {
    case 'ddim':
      return new DDIMScheduler(config);
    case 'pndm':
      return new PNDMScheduler(config);
    case 'euler':
      return new EulerDiscreteScheduler(config);
    case 'dpm':
      return new DPMSolverMultistepScheduler(config);
  }
}
