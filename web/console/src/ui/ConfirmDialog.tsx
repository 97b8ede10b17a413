import { useEffect, useRef } from 'preact/hooks';

/** A modal confirmation (the native <dialog>: focus trap and Escape come with it). */
export function ConfirmDialog(p: { open: boolean; title: string; message: string; confirmLabel?: string; danger?: boolean; onConfirm(): void; onCancel(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (p.open && !d.open) d.showModal();
    if (!p.open && d.open) d.close();
  }, [p.open]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={(e) => { e.preventDefault(); p.onCancel(); }}>
      <h2 id="confirm-title">{p.title}</h2>
      <p>{p.message}</p>
      <div class="actions">
        <button type="button" class="secondary" onClick={p.onCancel}>Cancel</button>
        <button type="button" class={p.danger ? 'danger' : ''} onClick={p.onConfirm}>{p.confirmLabel ?? 'Confirm'}</button>
      </div>
    </dialog>
  );
}
