import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { AppContext } from '../../shared/boot.js';

export const App = createContext<AppContext | undefined>(undefined);

/** The signed-in app context (config, session, api, scopes) inside a page. */
export function useApp(): AppContext {
  const c = useContext(App);
  if (!c) throw new Error('useApp() outside <App.Provider>');
  return c;
}
