// The reconciler's /metrics, process metrics included, passes Prometheus' own linter
// (`promtool check metrics`, Debian package `prometheus`).
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createScope, startFleet } from '../cli/support/cli-harness.js';
import { checkTool, TOOLS } from '../support/tools.js';

const PROMTOOL = checkTool(TOOLS.promtool);
const scope = createScope();
afterAll(() => scope.cleanup());

function promtoolCheck(text: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

describe.skipIf(!PROMTOOL.available)(`/metrics and promtool${PROMTOOL.skipNote}`, () => {
  it('promtool finds nothing to say about a running reconciler with an agent and pools', async () => {
    const { server } = await startFleet(scope);
    const response = await fetch(`${server}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('mcpctl_nodejs_active_handles{');
    expect(text).toContain('mcpctl_pool_members{pool="qwen3"}');
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  });

  it('promtool does fail a gauge named like a counter, so the check above can fail', () => {
    const bad = '# HELP x_things_total Things\n# TYPE x_things_total gauge\nx_things_total 1\n';
    const check = promtoolCheck(bad);
    expect(check.status).not.toBe(0);
    expect(check.output).toContain('x_things_total');
  });
});
