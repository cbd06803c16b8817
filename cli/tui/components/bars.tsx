// The header line, the banner and the footer line.
import type { ReactNode } from 'react';
import { Text } from 'ink';
import { Lines } from './lines.js';

export function HeaderBar({ line }: { line: string }): ReactNode {
  return <Text wrap="truncate-end">{line}</Text>;
}

export function Banner({ lines }: { lines: readonly string[] }): ReactNode {
  return lines.length === 0 ? null : <Lines lines={lines} />;
}

export function FooterBar({ line }: { line: string }): ReactNode {
  return <Text wrap="truncate-end">{line === '' ? ' ' : line}</Text>;
}
