import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { ConfirmDialog } from './ConfirmDialog.js';

export interface ConfirmRequest { title: string; message: string; confirmLabel: string; run(): void }
export type Ask = (r: ConfirmRequest) => void;

/**
 * One confirmation dialog for a whole page (ConfirmDialog's heading id is fixed, so a page renders
 * one): `ask({...})` opens it; `run` is called on confirm.
 */
export function useConfirm(): [VNode, Ask] {
  const [req, setReq] = useState<ConfirmRequest>();
  const dialog = (
    <ConfirmDialog open={!!req} title={req?.title ?? ''} message={req?.message ?? ''} confirmLabel={req?.confirmLabel} danger
      onCancel={() => setReq(undefined)} onConfirm={() => { const r = req; setReq(undefined); r?.run(); }} />
  );
  return [dialog, setReq];
}
