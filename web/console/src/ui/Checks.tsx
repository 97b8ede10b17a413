/** A fieldset of checkboxes (a multi-valued choice): the legend names the group, each box its value. */
export function Checks(p: { legend: string; options: readonly { value: string; label: string; disabled?: boolean }[]; selected: readonly string[]; onChange(selected: string[]): void; name?: string; hint?: string; empty?: string }) {
  const toggle = (v: string, on: boolean) => p.onChange(on ? [...p.selected.filter((x) => x !== v), v] : p.selected.filter((x) => x !== v));
  return (
    <fieldset class="checks">
      <legend>{p.legend}</legend>
      {p.options.length === 0 ? <p class="muted">{p.empty ?? 'Nothing to choose from.'}</p> : null}
      {p.options.map((o) => (
        <label key={o.value} class="check">
          <input type="checkbox" name={p.name} value={o.value} checked={p.selected.includes(o.value)} disabled={o.disabled}
            onChange={(e) => toggle(o.value, (e.currentTarget as HTMLInputElement).checked)} />
          <span>{o.label}</span>
        </label>
      ))}
      {p.hint ? <p class="hint">{p.hint}</p> : null}
    </fieldset>
  );
}
