// Plain aligned columns for the CLI's summary tables (`strata registry`, `strata affected`).

/** "sha256:" and the first 12 hex digits. */
export const shortDigest = (digest: string): string => digest.replace(/^(sha256:)?([0-9a-f]{12}).*$/, '$1$2');

/** Formats a row padded to the widest cell of each column (header included), two spaces apart. */
export function columnFormatter(header: string[], rows: string[][]): (cells: string[]) => string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return (cells) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
}
