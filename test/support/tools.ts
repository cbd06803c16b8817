/**
 * Real servers and shells some tests drive (Debian packages): found on PATH, or the test is
 * skipped with the command that installs it. `.ci/run` installs all of them and sets
 * MCPCTL_REQUIRE_TOOLS=1, so in CI a missing one fails the run instead of skipping quietly.
 */
import { spawnSync } from 'node:child_process';

export interface Tool {
  /** The binary on PATH. */
  readonly bin: string;
  /** The argument that makes it print a version and exit 0. */
  readonly versionArg: string;
  /** The Debian package that ships it. */
  readonly aptPackage: string;
}

export const TOOLS = {
  tmux: { bin: 'tmux', versionArg: '-V', aptPackage: 'tmux' },
  fish: { bin: 'fish', versionArg: '--version', aptPackage: 'fish' },
  promtool: { bin: 'promtool', versionArg: '--version', aptPackage: 'prometheus' },
  etcd: { bin: 'etcd', versionArg: '--version', aptPackage: 'etcd-server' },
  openssl: { bin: 'openssl', versionArg: 'version', aptPackage: 'openssl' },
} as const satisfies Record<string, Tool>;

export interface ToolCheck {
  readonly available: boolean;
  /** Suffix for a describe title: empty when available, else why it is skipped and how to install it. */
  readonly skipNote: string;
}

/** Whether `tool` runs here; throws when it does not and MCPCTL_REQUIRE_TOOLS=1 (CI must never skip). */
export function checkTool(tool: Tool): ToolCheck {
  const available = spawnSync(tool.bin, [tool.versionArg], { stdio: 'ignore' }).status === 0;
  if (available) return { available, skipNote: '' };
  const how = `apt-get install -y ${tool.aptPackage}`;
  if (process.env.MCPCTL_REQUIRE_TOOLS === '1') throw new Error(`${tool.bin} is required (MCPCTL_REQUIRE_TOOLS=1) but not installed: ${how}`);
  return { available, skipNote: ` (skipped: ${tool.bin} is not installed; ${how})` };
}
