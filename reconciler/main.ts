// `mcpctl reconciler`: parses the options and starts the service.
import type { ReconcilerOptions } from '../cli/program.js';
import { CliError } from '../cli/errors.js';

export async function runReconcilerCommand(_options: ReconcilerOptions): Promise<void> {
  throw new CliError('the reconciler is not built yet');
}
