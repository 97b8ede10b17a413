/**
 * A bar chart of counts per hour (SVG drawn here, no chart library) with the same numbers as a table
 * beside it, so the figures are there for screen readers and for anyone who cannot read the colours.
 */
export interface Series { key: string; label: string; counts: number[]; className: string }

const W = 480;
const H = 160;
const PAD_L = 28;
const PAD_B = 20;

export function HourlyChart({ title, hours, series }: { title: string; hours: number[]; series: Series[] }) {
  const max = Math.max(1, ...series.flatMap((s) => s.counts));
  const slot = (W - PAD_L) / Math.max(1, hours.length);
  const bar = Math.max(1, (slot - 2) / Math.max(1, series.length));
  const y = (v: number) => (H - PAD_B) - (v / max) * (H - PAD_B - 8);
  // Buckets are whole UTC hours; in a time zone with a half-hour offset they start at :30 locally.
  const pad = (n: number) => String(n).padStart(2, '0');
  const hourLabel = (t: number) => `${pad(new Date(t).getHours())}:${pad(new Date(t).getMinutes())}`;
  const totals = series.map((s) => s.counts.reduce((a, b) => a + b, 0));
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <p class="chart-summary" data-chart-summary>
        {series.map((s, i) => `${s.label}: ${totals[i]}`).join(' · ')}
      </p>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}. ${series.map((s, i) => `${s.label}: ${totals[i]}`).join(', ')}`} class="chart-svg">
        <line x1={PAD_L} y1={H - PAD_B} x2={W} y2={H - PAD_B} class="axis" />
        <text x={PAD_L - 4} y={y(max) + 4} class="tick" text-anchor="end">{max}</text>
        <text x={PAD_L - 4} y={H - PAD_B} class="tick" text-anchor="end">0</text>
        {hours.map((t, i) => (
          <g key={t}>
            {series.map((s, j) => {
              const v = s.counts[i] ?? 0;
              return v > 0
                ? <rect key={s.key} x={PAD_L + i * slot + 1 + j * bar} y={y(v)} width={bar} height={(H - PAD_B) - y(v)} class={s.className}><title>{`${hourLabel(t)} ${s.label}: ${v}`}</title></rect>
                : null;
            })}
            {i % 6 === 0 ? <text x={PAD_L + i * slot} y={H - 4} class="tick">{hourLabel(t)}</text> : null}
          </g>
        ))}
      </svg>
      <ul class="legend" aria-hidden="true">
        {series.map((s) => <li key={s.key}><span class={`swatch ${s.className}`} />{s.label}</li>)}
      </ul>
      <details class="chart-table">
        <summary>Counts per hour</summary>
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Counts per hour">
          <table>
            <caption class="visually-hidden">{title}, per hour</caption>
            <thead><tr><th scope="col">Hour starting</th>{series.map((s) => <th scope="col" key={s.key}>{s.label}</th>)}</tr></thead>
            <tbody>
              {hours.map((t, i) => (
                <tr key={t}><th scope="row">{new Date(t).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })}</th>
                  {series.map((s) => <td key={s.key} data-series={s.key}>{s.counts[i] ?? 0}</td>)}</tr>
              ))}
            </tbody>
            <tfoot><tr><th scope="row">Total</th>{series.map((s, i) => <td key={s.key} data-total={s.key}>{totals[i]}</td>)}</tr></tfoot>
          </table>
        </div>
      </details>
    </figure>
  );
}
