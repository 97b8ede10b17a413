import { useId } from 'preact/hooks';

/** A labelled checkbox. */
export function CheckField(p: { label: string; checked: boolean; onChange(v: boolean): void; disabled?: boolean; name?: string; hint?: string }) {
  const id = useId();
  return (
    <div class="field check">
      <input id={id} name={p.name} type="checkbox" checked={p.checked} disabled={p.disabled} aria-describedby={p.hint ? `${id}-hint` : undefined} onChange={(e) => p.onChange((e.currentTarget as HTMLInputElement).checked)} />
      <label for={id}>{p.label}</label>
      {p.hint ? <p class="hint" id={`${id}-hint`}>{p.hint}</p> : null}
    </div>
  );
}
