// `mcpctl tui`: the Ink app on the terminal's alternate screen, fed by the reconciler and the
// working tree. Loaded lazily by cli/program.ts, so no other command pays for Ink or React.
import { render } from 'ink';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { TuiApp } from './app.js';
import { createReconcilerSource } from './reconciler-source.js';

// The alternate screen (as less and vim use) leaves the shell's scrollback as it was on quit.
const ENTER_ALT_SCREEN = '\u001b[?1049h\u001b[H';
const LEAVE_ALT_SCREEN = '\u001b[?1049l';

export async function runTui(ctx: CommandContext, options: { force: boolean } = { force: false }): Promise<void> {
  if (!ctx.interactive) {
    throw new CliError('mcpctl tui needs an interactive terminal; use mcpctl get, describe and plan in scripts');
  }
  const source = createReconcilerSource(ctx, options);
  process.stdout.write(ENTER_ALT_SCREEN);
  try {
    // Not Ink's incremental mode: on the alternate screen it left the first frame's top line behind.
    const app = render(<TuiApp source={source} color={ctx.color} />, { exitOnCtrlC: true, patchConsole: true });
    await app.waitUntilExit();
  } finally {
    process.stdout.write(LEAVE_ALT_SCREEN);
  }
}
