import { useState } from 'preact/hooks';

/** A search form: submits on Enter or the button, so every keystroke does not become a request. */
export function SearchBox({ label, initial = '', onSearch }: { label: string; initial?: string; onSearch(q: string): void }) {
  const [q, setQ] = useState(initial);
  return (
    <form class="search" role="search" onSubmit={(e) => { e.preventDefault(); onSearch(q.trim()); }}>
      <label class="visually-hidden" for="search-box">{label}</label>
      <input id="search-box" type="search" value={q} placeholder={label} onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
      <button type="submit">Search</button>
    </form>
  );
}
