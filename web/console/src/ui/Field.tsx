import { useId } from 'preact/hooks';

interface FieldProps {
  label: string;
  value: string;
  onInput(value: string): void;
  type?: 'text' | 'email' | 'password' | 'tel' | 'url' | 'search';
  error?: string;
  hint?: string;
  required?: boolean;
  disabled?: boolean;
  autoComplete?: string;
  name?: string;
}

/** A labelled input with its error and hint tied to it (aria-describedby, aria-invalid). */
export function Field(p: FieldProps) {
  const id = useId();
  const described = [p.error ? `${id}-err` : '', p.hint ? `${id}-hint` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{p.label}{p.required ? ' (required)' : ''}</label>
      <input id={id} name={p.name} type={(p.type ?? 'text') as 'text'} value={p.value} required={p.required} disabled={p.disabled} autocomplete={p.autoComplete}
        aria-invalid={p.error ? 'true' : undefined} aria-describedby={described}
        onInput={(e) => p.onInput((e.currentTarget as HTMLInputElement).value)} />
      {p.hint ? <p class="hint" id={`${id}-hint`}>{p.hint}</p> : null}
      {p.error ? <p class="error" id={`${id}-err`}>{p.error}</p> : null}
    </div>
  );
}
