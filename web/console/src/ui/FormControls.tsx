import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

/** Form controls <Field>, <SelectField> and <CheckField> do not cover, labelled the same way (label, hint, error tied by aria-describedby). */
interface Common { label: string; hint?: string; error?: string; disabled?: boolean; name?: string }

function described(id: string, p: Common): string | undefined {
  return [p.error ? `${id}-err` : '', p.hint ? `${id}-hint` : ''].filter(Boolean).join(' ') || undefined;
}

function Notes({ id, p }: { id: string; p: Common }) {
  return (
    <>
      {p.hint ? <p class="hint" id={`${id}-hint`}>{p.hint}</p> : null}
      {p.error ? <p class="error" id={`${id}-err`}>{p.error}</p> : null}
    </>
  );
}

/** A labelled <textarea>. */
export function TextAreaField(p: Common & { value: string; rows?: number; onInput(v: string): void }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{p.label}</label>
      <textarea id={id} name={p.name} rows={p.rows ?? 4} value={p.value} disabled={p.disabled} aria-describedby={described(id, p)} aria-invalid={p.error ? 'true' : undefined}
        spellcheck={false} onInput={(e) => p.onInput((e.currentTarget as HTMLTextAreaElement).value)} />
      <Notes id={id} p={p} />
    </div>
  );
}

/** A labelled input of a type <Field> does not take (number, datetime-local). */
export function InputField(p: Common & { value: string; type: 'number' | 'datetime-local'; min?: number; max?: number; onInput(v: string): void }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{p.label}</label>
      <input id={id} name={p.name} type={p.type} value={p.value} min={p.min} max={p.max} disabled={p.disabled}
        aria-describedby={described(id, p)} aria-invalid={p.error ? 'true' : undefined}
        onInput={(e) => p.onInput((e.currentTarget as HTMLInputElement).value)} />
      <Notes id={id} p={p} />
    </div>
  );
}

/** A group of fields with a legend. */
export function FieldSet({ legend, children }: { legend: string; children: ComponentChildren }) {
  return <fieldset class="fieldset"><legend>{legend}</legend>{children}</fieldset>;
}
