// Shell completion scripts generated from the commander tree (never hand-written), so a new
// flag or command is offered as soon as it exists.
import type { Command, Option } from 'commander';
import { LLM_TYPES } from '../schema/resources.js';

export interface CompletionFlag {
  names: string[];
  takesValue: boolean;
  /** What the flag's value completes to; null is a file name. */
  values: CompletionArg | null;
  description: string;
}

export interface CompletionNode {
  /** Subcommand path from the root, e.g. ['get']. Empty for the root. */
  path: string[];
  description: string;
  /** This command's own flags, its help flag included (the root's are offered everywhere). */
  flags: CompletionFlag[];
  subcommands: string[];
  /** Word lists or dynamic sources for positional arguments, in order. */
  args: CompletionArg[];
}

/** A word list that `mcpctl __complete <source>` prints from the repository's files. */
export type DynamicSource = 'llms' | 'pools' | 'declared-pools';
export type CompletionArg =
  | { words: string[] }
  | { dynamic: DynamicSource }
  /** Depends on the command's first argument: `pool` when it names pools, else `llm`. */
  | { byResource: { llm: DynamicSource; pool: DynamicSource } }
  | { none: true };

/** The resource words that mean pools (cli/commands/get.ts resourceKindOf). */
export const POOL_RESOURCE_WORDS = ['pool', 'pools', 'llmpool', 'llmpools'];

/** What each positional argument name completes to. */
const ARGUMENT_SOURCES: Record<string, CompletionArg> = {
  resource: { words: ['llm', 'llms', 'pool', 'pools'] },
  name: { dynamic: 'llms' },
  shell: { words: ['bash', 'zsh', 'fish'] },
  key: { dynamic: 'pools' },
};

const LLM_ONLY: CompletionArg = { words: ['llm'] };

/**
 * Arguments whose words depend on the command ("PATH ARGUMENT"). The commands that reject pools
 * offer only `llm`; `delete pool` removes an LlmPool document, so it offers only declared pools.
 */
const COMMAND_ARGUMENT_SOURCES: Record<string, CompletionArg> = {
  'get name': { byResource: { llm: 'llms', pool: 'pools' } },
  'delete name': { byResource: { llm: 'llms', pool: 'declared-pools' } },
  'describe resource': LLM_ONLY,
  'create resource': LLM_ONLY,
  'drain resource': LLM_ONLY,
  'undrain resource': LLM_ONLY,
};

/** Flag values that commander has no choices for ("PATH --long"); choices are read from the tree. */
const FLAG_VALUE_SOURCES: Record<string, CompletionArg> = {
  // A global flag (the root's path is empty): a URL, never a file name.
  ' --gateway': { none: true },
  'get --pool': { dynamic: 'pools' },
  'create --pool-name': { dynamic: 'pools' },
  'create --type': { words: [...LLM_TYPES] },
};

export function collectCompletionTree(root: Command): CompletionNode[] {
  const out: CompletionNode[] = [];
  const used = new Set<string>();
  const lookup = (table: Record<string, CompletionArg>, key: string): CompletionArg | undefined => {
    const found = table[key];
    if (found !== undefined) used.add(key);
    return found;
  };
  const visit = (command: Command, path: string[], siblings: string[]): void => {
    const help = command.createHelp();
    // What `--help` lists: the implicit `help` command and the -h/--help flag included.
    const visible = help.visibleCommands(command).filter((c) => !isHidden(c));
    const names = visible.map((c) => c.name());
    out.push({
      path,
      description: command.description(),
      flags: help.visibleOptions(command).map((option) => flagOf(option, lookup(FLAG_VALUE_SOURCES, `${path.join(' ')} ${option.long ?? ''}`))),
      subcommands: names,
      args: command.registeredArguments.map((a) => {
        // `help [command]` completes the commands beside it.
        if (a.name() === 'command') return { words: siblings.filter((n) => n !== 'help') };
        return lookup(COMMAND_ARGUMENT_SOURCES, `${path.join(' ')} ${a.name()}`) ?? ARGUMENT_SOURCES[a.name()] ?? { none: true };
      }),
    });
    for (const child of visible) visit(child, [...path, child.name()], names);
  };
  visit(root, [], []);
  // A renamed flag or argument would otherwise fall back to file names without anyone noticing.
  const stale = [...Object.keys(COMMAND_ARGUMENT_SOURCES), ...Object.keys(FLAG_VALUE_SOURCES)].filter((key) => !used.has(key));
  if (stale.length > 0) throw new Error(`completion sources name arguments or flags the command tree lacks: ${stale.join(', ')}`);
  return out;
}

function isHidden(command: Command): boolean {
  return (command as Command & { _hidden?: boolean })._hidden === true || command.name().startsWith('__');
}

function flagOf(option: Option, source: CompletionArg | undefined): CompletionFlag {
  const names = [option.short, option.long].filter((n): n is string => typeof n === 'string');
  const takesValue = option.required || option.optional;
  const choices: CompletionArg | undefined = option.argChoices === undefined ? undefined : { words: option.argChoices };
  return {
    names,
    takesValue,
    values: takesValue ? (choices ?? source ?? null) : null,
    description: option.description,
  };
}

export function renderCompletion(shell: 'bash' | 'zsh' | 'fish', root: Command): string {
  const tree = collectCompletionTree(root);
  const globalFlags = tree.find((n) => n.path.length === 0)?.flags ?? [];
  if (shell === 'fish') return renderFish(tree, globalFlags);
  const bash = renderBash(tree, globalFlags);
  if (shell === 'bash') return bash;
  return `#compdef mcpctl\n# zsh completion for mcpctl, through bash completion compatibility.\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
}

/** The words of a source as a bash expression for `compgen -W`, or null when there are none. */
function bashWords(arg: CompletionArg): string | null {
  const dynamic = (source: DynamicSource): string => `mcpctl __complete ${source} 2>/dev/null`;
  if ('words' in arg) return arg.words.join(' ');
  if ('dynamic' in arg) return `$(${dynamic(arg.dynamic)})`;
  if ('byResource' in arg) return `$(case "$first" in ${POOL_RESOURCE_WORDS.join('|')}) ${dynamic(arg.byResource.pool)};; *) ${dynamic(arg.byResource.llm)};; esac)`;
  return null;
}

/** `case` patterns that match "PATH FLAG" for a command's flags, or any path for the root's (global) flags. */
function bashFlagPatterns(node: CompletionNode, flag: CompletionFlag): string {
  const path = node.path.join(' ');
  return flag.names.map((n) => (node.path.length === 0 ? `*" ${n}"` : `"${path} ${n}"`)).join('|');
}

function renderBash(tree: CompletionNode[], globalFlags: CompletionFlag[]): string {
  // Specific commands first: a `case` takes its first match, and global patterns match any path.
  const ordered = [...tree.filter((n) => n.path.length > 0), ...tree.filter((n) => n.path.length === 0)];
  const valuePatterns = ordered.flatMap((node) => node.flags.filter((f) => f.takesValue).map((f) => bashFlagPatterns(node, f)));
  const lines: string[] = [];
  lines.push('# bash completion for mcpctl (generated by `mcpctl completion bash`)');
  lines.push('_mcpctl() {');
  lines.push('  local cur prev');
  lines.push('  cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"');
  lines.push('  local path="" first="" i w nargs=0 skip=0');
  lines.push('  for ((i=1; i<COMP_CWORD; i++)); do');
  lines.push('    w="${COMP_WORDS[i]}"');
  lines.push('    if ((skip)); then skip=0; continue; fi');
  if (valuePatterns.length > 0) {
    lines.push('    case "$path $w" in');
    lines.push(`      ${valuePatterns.join('|')}) skip=1; continue;;`);
    lines.push('    esac');
  }
  lines.push('    case "$w" in -*) continue;; esac');
  lines.push('    case "$path $w" in');
  for (const node of tree) {
    for (const sub of node.subcommands) lines.push(`      "${node.path.join(' ')} ${sub}") path="${[...node.path, sub].join(' ')}"; nargs=0; first=""; continue;;`);
  }
  lines.push('    esac');
  lines.push('    if ((nargs == 0)); then first="$w"; fi');
  lines.push('    nargs=$((nargs+1))');
  lines.push('  done');
  // The value of a flag: its choices or its source, else a file name.
  lines.push('  case "$path $prev" in');
  for (const node of ordered) {
    for (const f of node.flags) {
      if (!f.takesValue) continue;
      // A value that is no word and no file (a URL): nothing, and no file names from `-o default` either.
      if (f.values !== null && 'none' in f.values) {
        lines.push(`    ${bashFlagPatterns(node, f)}) COMPREPLY=(); compopt +o default 2>/dev/null; return;;`);
        continue;
      }
      const words = f.values === null ? null : bashWords(f.values);
      const reply = words === null ? '$(compgen -f -- "$cur")' : `$(compgen -W "${words}" -- "$cur")`;
      lines.push(`    ${bashFlagPatterns(node, f)}) COMPREPLY=( ${reply} ); return;;`);
    }
  }
  lines.push('  esac');
  lines.push('  case "$path" in');
  for (const node of tree) {
    const flags = [...node.flags, ...(node.path.length > 0 ? globalFlags.filter((g) => !node.flags.some((f) => f.names.join() === g.names.join())) : [])].flatMap((f) => f.names);
    lines.push(`    "${node.path.join(' ')}")`);
    lines.push(`      if [[ "$cur" == -* ]]; then COMPREPLY=( $(compgen -W "${flags.join(' ')}" -- "$cur") ); return; fi`);
    if (node.subcommands.length > 0) {
      lines.push(`      COMPREPLY=( $(compgen -W "${node.subcommands.join(' ')}" -- "$cur") ); return;;`);
      continue;
    }
    lines.push('      case "$nargs" in');
    node.args.forEach((arg, index) => {
      const words = bashWords(arg);
      if (words !== null) lines.push(`        ${index}) COMPREPLY=( $(compgen -W "${words}" -- "$cur") );;`);
    });
    lines.push('      esac; return;;');
  }
  lines.push('  esac');
  lines.push('}');
  lines.push('complete -o default -F _mcpctl mcpctl');
  return `${lines.join('\n')}\n`;
}

function renderFish(tree: CompletionNode[], globalFlags: CompletionFlag[]): string {
  const lines: string[] = ['# fish completion for mcpctl (generated by `mcpctl completion fish`)', 'complete -c mcpctl -f'];
  const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const condition = (path: string[]): string => {
    if (path.length === 0) return '__fish_use_subcommand';
    return path.map((p) => `__fish_seen_subcommand_from ${p}`).join('; and ');
  };
  const dynamic = (source: DynamicSource): string => `(mcpctl __complete ${source} 2>/dev/null)`;
  const flagLine = (f: CompletionFlag, cond: string | null): string => {
    const parts = ['complete -c mcpctl'];
    if (cond !== null) parts.push(`-n ${quote(cond)}`);
    for (const n of f.names) parts.push(n.startsWith('--') ? `-l ${n.slice(2)}` : `-s ${n.slice(1)}`);
    if (f.takesValue) {
      // A value that depends on the resource argument has no resource here: offer the Llm words.
      const values = f.values !== null && 'byResource' in f.values ? { dynamic: f.values.byResource.llm } : f.values;
      if (values !== null && 'words' in values) parts.push(`-x -a ${quote(values.words.join(' '))}`);
      else if (values !== null && 'dynamic' in values) parts.push(`-x -a ${quote(dynamic(values.dynamic))}`);
      else if (values !== null && 'none' in values) parts.push('-x');
      else parts.push('-r');
    }
    parts.push(`-d ${quote(f.description)}`);
    return parts.join(' ');
  };
  for (const node of tree) {
    const cond = condition(node.path);
    for (const sub of node.subcommands) {
      const child = tree.find((n) => n.path.join(' ') === [...node.path, sub].join(' '));
      lines.push(`complete -c mcpctl -n ${quote(cond)} -a ${sub} -d ${quote(child?.description ?? '')}`);
    }
    // The root's flags carry no condition: they are accepted after any subcommand too.
    const own = node.path.length === 0 ? globalFlags : node.flags.filter((f) => !globalFlags.some((g) => g.names.join() === f.names.join()));
    for (const f of own) lines.push(flagLine(f, node.path.length === 0 ? null : cond));
    if (node.subcommands.length > 0) continue;
    for (const arg of node.args) {
      if ('words' in arg) lines.push(`complete -c mcpctl -n ${quote(cond)} -a ${quote(arg.words.join(' '))}`);
      else if ('byResource' in arg) {
        const pools = POOL_RESOURCE_WORDS.join(' ');
        lines.push(`complete -c mcpctl -n ${quote(`${cond}; and __fish_seen_subcommand_from ${pools}`)} -a ${quote(dynamic(arg.byResource.pool))}`);
        lines.push(`complete -c mcpctl -n ${quote(`${cond}; and not __fish_seen_subcommand_from ${pools}`)} -a ${quote(dynamic(arg.byResource.llm))}`);
      } else if ('dynamic' in arg) lines.push(`complete -c mcpctl -n ${quote(cond)} -a ${quote(dynamic(arg.dynamic))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
