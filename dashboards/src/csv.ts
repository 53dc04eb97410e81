// CSV (RFC 4180) of a table as shown. Text cells that a spreadsheet would run
// as a formula (=, +, -, @ first) get a leading apostrophe: dimension values
// come from ad-server logs, which anyone on the internet can influence.

export type CsvCell = string | number | null;

const FORMULA_START = /^[=+\-@\t\r]/;

function field(cell: CsvCell): string {
  if (cell === null) return "";
  if (typeof cell === "number") return String(cell);
  const text = FORMULA_START.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(header: string[], rows: CsvCell[][]): string {
  return [header, ...rows].map((row) => row.map(field).join(",")).join("\r\n") + "\r\n";
}
