// A long text (an Llm's detail, the plan) shown from a scroll offset.
import type { ReactNode } from 'react';
import { scrollLines } from '../viewport.js';
import { Lines } from './lines.js';

export interface ScrollViewProps {
  lines: readonly string[];
  scroll: number;
  height: number;
}

export function ScrollView({ lines, scroll, height }: ScrollViewProps): ReactNode {
  return <Lines lines={scrollLines(lines, scroll, height)} height={height} />;
}
