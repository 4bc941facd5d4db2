/**
 * The display-table model: a caption, columns, rows of typed cells and notes. The report's tables are
 * built once in this form (report/tables.ts) and written by each format's renderer (Markdown in
 * report/markdown.ts, HTML in report/html/render.ts), so the formats never disagree on a cell.
 */

/** A cell: text shown as is, a number shown with its column's digits, or null for a missing value. */
export type TableCell = string | number | null;

export interface TableColumn {
  label: string;
  /** Digits after the decimal point for numeric cells (default: shown as given). */
  digits?: number;
  /** Default: right when the column declares digits or holds a number, else left. */
  align?: 'left' | 'right';
}

/** A paper-style table: a caption, columns, rows and notes under it. */
export interface ReportTable {
  id: string;
  title: string;
  columns: TableColumn[];
  rows: TableCell[][];
  notes?: string[];
}

/** What a missing value shows as. */
export const DASH = '\u2014';

/** A cell's text: numbers with the column's digits; null shows as an em dash. */
export function formatCell(cell: TableCell, digits: number | undefined): string {
  if (cell === null) return DASH;
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) return String(cell);
    return digits === undefined ? String(cell) : cell.toFixed(digits);
  }
  return cell;
}

/** Whether column `j` is numeric (right-aligned). */
export function isNumericColumn(t: ReportTable, j: number): boolean {
  const c = t.columns[j]!;
  if (c.align !== undefined) return c.align === 'right';
  return c.digits !== undefined || t.rows.some((r) => typeof r[j] === 'number');
}
