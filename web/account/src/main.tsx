import { render } from 'preact';
import '../../shared/style.css';
import { boot, showFatal } from '../../shared/boot.js';
import { App } from '../../console/src/context.js';
import { Account } from './account.js';

const root = document.getElementById('app')!;
boot().then(
  (ctx) => {
    root.replaceChildren(); // the static "Signing in…" placeholder
    render(<App.Provider value={ctx}><Account /></App.Provider>, root);
  },
  (e: unknown) => showFatal(root, 'Sign-in failed', e instanceof Error ? e.message : String(e)),
);
