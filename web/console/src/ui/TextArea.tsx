import { useId } from 'preact/hooks';

/** A labelled multi-line input (one value a line), with its error and hint tied to it. */
export function TextArea(p: { label: string; value: string; onInput(value: string): void; error?: string; hint?: string; name?: string; rows?: number; disabled?: boolean }) {
  const id = useId();
  const described = [p.error ? `${id}-err` : '', p.hint ? `${id}-hint` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{p.label}</label>
      <textarea id={id} name={p.name} rows={p.rows ?? 3} value={p.value} disabled={p.disabled}
        aria-invalid={p.error ? 'true' : undefined} aria-describedby={described}
        onInput={(e) => p.onInput((e.currentTarget as HTMLTextAreaElement).value)} />
      {p.hint ? <p class="hint" id={`${id}-hint`}>{p.hint}</p> : null}
      {p.error ? <p class="error" id={`${id}-err`}>{p.error}</p> : null}
    </div>
  );
}
