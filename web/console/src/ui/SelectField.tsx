import { useId } from 'preact/hooks';

/** A labelled <select> (as Field is for inputs). `options`: value and label; the first may be a "choose" placeholder with value ''. */
export function SelectField(p: { label: string; value: string; options: readonly { value: string; label: string }[]; onChange(v: string): void; disabled?: boolean; name?: string; hint?: string }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{p.label}</label>
      <select id={id} name={p.name} value={p.value} disabled={p.disabled} aria-describedby={p.hint ? `${id}-hint` : undefined} onChange={(e) => p.onChange((e.currentTarget as HTMLSelectElement).value)}>
        {p.options.map((o) => <option key={o.value} value={o.value} selected={o.value === p.value}>{o.label}</option>)}
      </select>
      {p.hint ? <p class="hint" id={`${id}-hint`}>{p.hint}</p> : null}
    </div>
  );
}
