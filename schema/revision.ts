// How a revision is shown to people: a Git commit id (SHA-1, or SHA-256 in a SHA-256 repository)
// shortens to 7 characters as Git shows it; anything else (a worktree digest) shows as is.

export function shortRevision(revision: string | null): string {
  if (revision === null) return '(none)';
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(revision) ? revision.slice(0, 7) : revision;
}
