/**
 * Prints, after every run, the slowest test files and each project's summed file time (issue 15
 * item 7: test time is a budget; a file that got slower shows here without reading the whole log).
 * Next to vitest's default reporter (vite.config.ts), never instead of it.
 */
import type { Reporter, TestModule } from 'vitest/node';

const SHOWN = 15;

export default class DurationsReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    if (modules.length === 0) return;
    const rows = modules.map((m) => {
      const d = m.diagnostic();
      // tests + hooks, plus what the file cost before its first test (imports, environment)
      const seconds = (d.duration + d.collectDuration + d.prepareDuration + d.environmentSetupDuration) / 1000;
      return { file: m.relativeModuleId, project: m.project.name, seconds };
    });
    rows.sort((a, b) => b.seconds - a.seconds);
    const perProject = new Map<string, number>();
    for (const r of rows) perProject.set(r.project, (perProject.get(r.project) ?? 0) + r.seconds);
    const lines = [`\nSlowest test files (of ${rows.length}):`];
    for (const r of rows.slice(0, SHOWN)) lines.push(`  ${r.seconds.toFixed(1).padStart(7)} s  ${r.project.padEnd(5)} ${r.file}`);
    lines.push(`Summed file time per project: ${[...perProject].map(([p, s]) => `${p} ${(s / 60).toFixed(1)} min`).join(', ')}`);
    console.log(lines.join('\n'));
  }
}
