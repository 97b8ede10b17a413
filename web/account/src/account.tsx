import { useApp } from '../../console/src/context.js';
import { Apps } from './apps.js';
import { Password } from './password.js';
import { Profile } from './profile.js';
import { Security } from './security.js';
import { Sessions } from './sessions.js';

/**
 * The account page: the signed-in user's own profile, password, second factor, sessions and the apps they
 * allowed, one section per file. Everything goes through the admin API's self-service endpoints (Me,
 * MePasswordChanger, My*) with the user's token, which carries only the self-service Me scope.
 */
const SECTIONS = [
  { id: 'profile', label: 'Profile' },
  { id: 'password', label: 'Password' },
  { id: 'security', label: 'Security' },
  { id: 'sessions', label: 'Sessions' },
  { id: 'apps', label: 'Apps' },
];

export function Account() {
  const app = useApp();
  const who = app.userLabel;
  return (
    <div>
      <header class="topbar">
        <span class="brand">Your account <span class="muted">· {app.cfg.domain}</span></span>
        <span class="who">{who}</span>
        <button type="button" class="secondary" onClick={() => void app.signOut()}>Sign out</button>
      </header>
      <main class="account">
        <h1>Your account</h1>
        <nav class="account-nav" aria-label="Account sections">
          <ul>{SECTIONS.map((s) => <li key={s.id}><a href={`#${s.id}`} onClick={(e) => jump(e, s.id)}>{s.label}</a></li>)}</ul>
        </nav>
        <Profile />
        <Password />
        <Security />
        <Sessions />
        <Apps />
      </main>
    </div>
  );
}

/** In-page links move the keyboard focus to the section too (its tabIndex is -1), not only the scroll position. */
function jump(e: MouseEvent, id: string): void {
  const target = document.getElementById(id);
  if (!target) return;
  e.preventDefault();
  target.scrollIntoView({ block: 'start' });
  target.focus({ preventScroll: true });
  history.replaceState(null, '', `#${id}`);
}
