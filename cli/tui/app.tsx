// The whole TUI as one element: the container around the screen. runTui renders it on the
// terminal; component tests render it with a fake data source.
import type { ReactNode } from 'react';
import { TuiScreen } from './screen.js';
import { TuiProvider, type TuiProviderProps } from './tui-provider.js';

export type TuiAppProps = Omit<TuiProviderProps, 'children'>;

export function TuiApp(props: TuiAppProps): ReactNode {
  return (
    <TuiProvider {...props}>
      <TuiScreen />
    </TuiProvider>
  );
}
