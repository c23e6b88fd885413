/** Renders rows as left-aligned columns separated by three spaces, like `linkerd viz stat`. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatPercent(ratio: number | null): string {
  return ratio === null ? '-' : `${(ratio * 100).toFixed(2)}%`;
}

export function formatRps(rps: number): string {
  return `${rps >= 100 ? rps.toFixed(0) : rps.toFixed(1)}rps`;
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 10) return `${Number(ms.toFixed(1))}ms`;
  if (ms < 10_000) return `${Math.round(ms)}ms`;
  return `${Number((ms / 1000).toFixed(1))}s`;
}
