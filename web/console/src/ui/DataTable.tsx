import type { ComponentChildren } from 'preact';

export interface Column<T> {
  header: string;
  cell(row: T): ComponentChildren;
}

interface DataTableProps<T> {
  caption: string;
  columns: Column<T>[];
  rows: T[] | undefined;
  rowKey(row: T): string;
  /** SCIM paging: 1-based startIndex, page size and totalResults. */
  startIndex: number;
  pageSize: number;
  total: number;
  onPage(startIndex: number): void;
  loading?: boolean;
  empty?: string;
}

/** A table of SCIM resources with previous/next paging (startIndex + count). */
export function DataTable<T>(p: DataTableProps<T>) {
  const first = p.total === 0 ? 0 : p.startIndex;
  const last = Math.min(p.startIndex + p.pageSize - 1, p.total);
  return (
    <div>
      <div class="table-wrap" tabIndex={0} role="region" aria-label={p.caption}>
        <table aria-busy={p.loading ? 'true' : undefined}>
          <caption class="visually-hidden">{p.caption}</caption>
          <thead><tr>{p.columns.map((c) => <th scope="col" key={c.header}>{c.header}</th>)}</tr></thead>
          <tbody>
            {(p.rows ?? []).map((r) => <tr key={p.rowKey(r)}>{p.columns.map((c) => <td key={c.header}>{c.cell(r)}</td>)}</tr>)}
            {p.rows && p.rows.length === 0 ? <tr><td colSpan={p.columns.length} class="muted">{p.empty ?? 'Nothing found.'}</td></tr> : null}
          </tbody>
        </table>
      </div>
      <div class="pager">
        <button type="button" class="secondary" disabled={p.loading || p.startIndex <= 1} onClick={() => p.onPage(Math.max(1, p.startIndex - p.pageSize))}>Previous</button>
        <span aria-live="polite">{p.total === 0 ? 'No results' : `${first}–${last} of ${p.total}`}</span>
        <button type="button" class="secondary" disabled={p.loading || last >= p.total} onClick={() => p.onPage(p.startIndex + p.pageSize)}>Next</button>
      </div>
    </div>
  );
}
