// Commands that need neither Ink nor fastify must not load them (DESIGN §5; STYLE: commands are
// imported lazily). A `node --import` preload records every module the CLI process resolves (an
// ESM resolve hook) or requires (Module._load); the test reads that list after each command.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepo, createScope, FLEET_FILES, packagesOf, runCli, startReconciler, writeLoadRecorder, type TempRepo } from './support/cli-harness.js';

const scope = createScope();
let repo: TempRepo;
let server: string;

beforeAll(async () => {
  repo = await createRepo(scope, FLEET_FILES);
  server = (await startReconciler(scope, repo.dir)).url;
});

afterAll(() => scope.cleanup());

/** Runs one command with the recorder and returns its exit code and the npm packages it loaded. */
async function loadedBy(args: string[]): Promise<{ code: number | null; stderr: string; packages: Set<string>; modules: string[] }> {
  const recorder = await writeLoadRecorder(await scope.tempDir('loads'));
  const result = await runCli(['--server', server, ...args], { cwd: repo.dir, nodeArgs: recorder.nodeArgs, env: recorder.env });
  const modules = await recorder.read();
  return { code: result.code, stderr: result.stderr, packages: packagesOf(modules), modules };
}

const UI_AND_SERVER = ['ink', 'react', 'react-reconciler', 'fastify', 'fastify-plugin', 'prom-client', 'chokidar'];

describe.concurrent('what each command loads', () => {
  it('the recorder sees what a command loads (commander for every command)', async () => {
    const version = await loadedBy(['version']);
    expect(version.code).toBe(0);
    expect(version.packages.has('commander')).toBe(true);
    expect(version.modules.some((m) => m.endsWith('/dist/cli/commands/version.js'))).toBe(true);
  });

  it('get llm loads neither Ink, React nor fastify, and not the YAML codec', async () => {
    const get = await loadedBy(['get', 'llm']);
    expect(get.stderr).toBe('');
    expect(get.code).toBe(0);
    for (const pkg of UI_AND_SERVER) expect(get.packages, pkg).not.toContain(pkg);
    expect(get.packages).not.toContain('yaml');
    expect(get.packages).not.toContain('simple-git');
    expect(get.modules.some((m) => m.includes('/dist/reconciler/') || m.includes('/dist/agent/') || m.includes('/dist/cli/tui/'))).toBe(false);
  });

  it('get llm -o yaml loads the codec it needs, still no UI or server', async () => {
    const get = await loadedBy(['get', 'llm', '-o', 'yaml']);
    expect(get.code).toBe(0);
    expect(get.packages).toContain('yaml');
    for (const pkg of UI_AND_SERVER) expect(get.packages, pkg).not.toContain(pkg);
  });

  it('plan and describe load neither Ink, React nor fastify', async () => {
    const [plan, describeLlm] = await Promise.all([loadedBy(['plan']), loadedBy(['describe', 'llm', 'vllm-gpu1-qwen3'])]);
    expect(plan.code).toBe(0);
    expect(describeLlm.code).toBe(0);
    for (const loaded of [plan, describeLlm]) {
      for (const pkg of UI_AND_SERVER) expect(loaded.packages, pkg).not.toContain(pkg);
      expect(loaded.modules.some((m) => m.includes('/dist/reconciler/') || m.includes('/dist/cli/tui/'))).toBe(false);
    }
    // plan reads the working tree: the codec and Git are expected there.
    expect(plan.packages).toContain('yaml');
    expect(plan.packages).toContain('simple-git');
  });

  it('tui loads Ink (and refuses to run without a terminal, in one line)', async () => {
    const tui = await loadedBy(['tui']);
    expect(tui.code).toBe(1);
    expect(tui.stderr).toBe('mcpctl: error: mcpctl tui needs an interactive terminal; use mcpctl get, describe and plan in scripts\n');
    expect(tui.packages).toContain('ink');
    expect(tui.packages).toContain('react');
    expect(tui.packages).not.toContain('fastify');
  });
});
