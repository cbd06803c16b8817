// Which files under the resource folder (--path, `llms/` by default) are resource files. One
// rule for the reconciler's sources and the CLI: a file one side reads and the other skips
// would be a plan change that never goes away.

/** `*.yaml` and `*.yml`, as DESIGN §3 declares; anything else under --path is ignored. */
export function isResourceFileName(name: string): boolean {
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

/**
 * Whether `relativePath` (from the resource folder, `/`-separated) is a resource file: a YAML
 * file with no hidden segment, so that `.archive/old.yaml` and an editor's `.#pool.yaml` are
 * left out everywhere alike.
 */
export function isResourcePath(relativePath: string): boolean {
  const segments = relativePath.split('/');
  return segments.every((segment) => segment !== '' && !segment.startsWith('.')) && isResourceFileName(segments[segments.length - 1] ?? '');
}
