// Pre-formatted lines, one <Text> each, cut at the terminal's edge rather than wrapped.
import type { ReactNode } from 'react';
import { Box, Text } from 'ink';

export interface LinesProps {
  lines: readonly string[];
  /** Reserve exactly this many rows (blank below the lines) so that what follows stays put. */
  height?: number;
}

export function Lines({ lines, height }: LinesProps): ReactNode {
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      {lines.map((line, i) => (
        // An empty <Text> takes no row; a space keeps blank lines in place.
        <Text key={i} wrap="truncate-end">
          {line === '' ? ' ' : line}
        </Text>
      ))}
    </Box>
  );
}
