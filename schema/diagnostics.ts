// Diagnostics: every problem in a file, placed at file:line:col with a one-line reason.

export const DIAGNOSTIC_CODES = [
  'YamlSyntax',
  'NotAMapping',
  'InvalidApiVersion',
  'InvalidKind',
  'UnknownField',
  'MissingField',
  'InvalidName',
  'InvalidValue',
  'InlineSecret',
  'DuplicateName',
  'DuplicatePool',
] as const;
export type DiagnosticCode = (typeof DIAGNOSTIC_CODES)[number];

export interface Diagnostic {
  code: DiagnosticCode;
  file: string;
  line: number;
  col: number;
  /** Dotted path of the field, e.g. `spec.poolName`; empty for the whole document. */
  path: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file}:${d.line}:${d.col}`;
  return d.path === '' ? `${where}: ${d.message}` : `${where}: ${d.path}: ${d.message}`;
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.col - b.col;
}
