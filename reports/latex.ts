/**
 * The table model (tables.ts) as LaTeX for a paper (`tables.tex`): one booktabs table per
 * question, each made to fit `\textwidth` of a standard article (10 pt, 345 pt wide): a
 * question with more columns than fit is split into parts, each repeating the model column.
 * Values averaged over a subset of the test set carry a marker and the note under the table.
 * Needs `\usepackage{booktabs}`.
 */
import { latexText } from "./names.ts";
import {
  type Cell,
  cellParts,
  type Column,
  KIND_NOTE,
  type Section,
  seedsText,
  subsetNote,
  type Table,
  tableHeading,
} from "./tables.ts";

/** `\textwidth` of the standard article class at 10 pt, in pt. */
export const TEXT_WIDTH_PT = 345;

/** Column padding (`\tabcolsep`, both sides) in pt. */
const TABCOLSEP_PT = 4;

/** Escape text for LaTeX (outside math mode); Unicode is written as LaTeX. */
export function latexEscape(text: string): string {
  return latexText(text);
}

/**
 * Approximate width in pt of text set in `\footnotesize` (8 pt Computer Modern): digits are
 * 0.5 em; the rest by class. Deliberately generous: the test compiles the result and fails on
 * any overfull box.
 */
function widthPt(text: string, size = 8): number {
  let em = 0;
  for (const c of text) {
    if (/[0-9]/.test(c)) em += 0.5;
    else if (/[.,:;'il]/.test(c)) em += 0.3;
    else if (c === " ") em += 0.35;
    else if (c === "±") em += 1.3; // with the binary operator's spacing
    else if (/[A-Z]/.test(c)) em += 0.75;
    else em += 0.5;
  }
  return em * size;
}

function mathNumber(text: string): string {
  return text.replace(/−/g, "-").replace(/,/g, "{,}").replace(/∞/g, "\\infty");
}

function stack(lines: string[], align: "t" | "b", column: "l" | "r" | "c"): string {
  return `\\begin{tabular}[${align}]{@{}${column}@{}}${lines.join(" \\\\ ")}\\end{tabular}`;
}

function cellTex(cell: Cell | undefined, column: Column, mark: string): string {
  const parts = cell ? cellParts(cell, column) : null;
  if (!cell || !parts) return "--";
  const core = parts.std === null
    ? mathNumber(parts.mean)
    : `${mathNumber(parts.mean)} \\pm ${mathNumber(parts.std)}`;
  const main = (cell.best ? `$\\mathbf{${core}}$` : `$${core}$`) +
    (mark ? `\\textsuperscript{${mark}}` : "");
  return parts.low === null || parts.high === null ? main : stack(
    [main, `{\\scriptsize $[${mathNumber(parts.low)}, ${mathNumber(parts.high)}]$}`],
    "t",
    "r",
  );
}

/** Width in pt a column needs: its widest cell or heading line. */
function columnWidth(section: Section, column: Column): number {
  const cells = [
    ...section.blocks.flatMap((b) => b.rows.map((r) => r.cells[column.id])),
    ...(section.floor ? [section.floor.cells[column.id]] : []),
  ];
  const widths = cells.map((cell) => {
    const parts = cell ? cellParts(cell, column) : null;
    if (!parts) return widthPt("--");
    const main = widthPt(parts.std === null ? parts.mean : `${parts.mean}±${parts.std}`) +
      (cell.subset !== null ? 4 : 0) + (cell.best ? 0.1 * widthPt(parts.mean) + 2 : 0);
    const ci = parts.low === null ? 0 : widthPt(`[${parts.low}, ${parts.high}]`, 7);
    return Math.max(main, ci);
  });
  const head = [column.name, `${column.unitLabel ? `(${column.unitLabel}) ` : ""}xx`];
  return Math.max(...widths, ...head.map((h) => widthPt(h))) + 2 * TABCOLSEP_PT;
}

/** Columns packed, in order, into parts that each fit the text width beside the model column. */
function splitColumns(section: Section, fixed: number): Column[][] {
  const parts: Column[][] = [[]];
  let used = fixed;
  for (const column of section.columns) {
    const width = columnWidth(section, column);
    if (parts.at(-1)!.length > 0 && used + width > TEXT_WIDTH_PT) {
      parts.push([]);
      used = fixed;
    }
    parts.at(-1)!.push(column);
    used += width;
  }
  return parts;
}

function header(column: Column): string {
  const arrow = column.better === "lower"
    ? "$\\downarrow$"
    : column.better === "higher"
    ? "$\\uparrow$"
    : "";
  const unit = column.latexUnit ? `(${latexText(column.latexUnit)})` : "";
  const second = [unit, arrow].filter(Boolean).join(" ");
  return stack([column.latexName, second || "~"], "b", "r");
}

function sectionTex(table: Table, section: Section): string[] {
  const multiBackend = table.backends.length > 1;
  const rows = section.blocks.flatMap((b) => b.rows);
  const labels = [...rows.map((r) => r.label), section.floor?.label ?? ""];
  // The model column: the longest label, at most 110 pt (longer labels wrap in a p column).
  const longest = Math.max(...labels.map((l) => widthPt(l)), widthPt("Model"));
  const labelWidth = Math.min(90, longest);
  // Seeds in the caption when every row has the same ones, else a column.
  const seedLists = new Set(rows.map((r) => seedsText(r.group)));
  const seedsColumn = seedLists.size > 1;
  const seedsWidth = seedsColumn
    ? Math.max(widthPt("Seeds"), ...rows.map((r) => widthPt(seedsText(r.group)))) +
      2 * TABCOLSEP_PT
    : 0;
  const backendWidth = multiBackend ? widthPt("Backend") + 2 * TABCOLSEP_PT : 0;
  const fixed = labelWidth + seedsWidth + backendWidth + 2 * TABCOLSEP_PT;
  const parts = splitColumns(section, fixed);
  const slug = `${table.suite}-${table.dataset}-${section.question}`.replace(/[^A-Za-z0-9-]/g, "-");
  const out: string[] = [];
  parts.forEach((columns, p) => {
    const notes: string[] = [];
    const mark = (cell: Cell | undefined) => {
      const note = cell ? subsetNote(cell, table) : null;
      if (note === null) return "";
      if (!notes.includes(note)) notes.push(note);
      return String.fromCharCode(97 + notes.indexOf(note));
    };
    const partText = parts.length > 1 ? ` (part ${p + 1} of ${parts.length})` : "";
    const ranked = section.rankedBy ? ` Ranked by ${section.rankedBy.latexName}.` : "";
    const seeds = seedsColumn ? "" : ` Seeds ${latexText([...seedLists][0])}.`;
    const caption = `${latexText(section.title)}${partText}, ${latexText(tableHeading(table))}.` +
      `${ranked}${seeds} Mean $\\pm$ std over seeds, 95\\% confidence interval (Student $t$) below; ` +
      `best of each column in bold.${
        section.question === "likelihood" ? ` ${latexText(KIND_NOTE)}` : ""
      }`;
    const width = columns.length + 1 + (multiBackend ? 1 : 0) + (seedsColumn ? 1 : 0);
    const head = [
      "Model",
      ...(multiBackend ? ["Backend"] : []),
      ...(seedsColumn ? ["Seeds"] : []),
      ...columns.map(header),
    ];
    const line = (label: string, backend: string, seeds: string, cells: string[]) =>
      `    ${
        [label, ...(multiBackend ? [backend] : []), ...(seedsColumn ? [seeds] : []), ...cells]
          .join(" & ")
      } \\\\`;
    const body: string[] = [];
    if (section.floor) {
      body.push(line(
        `\\emph{${latexText(section.floor.label)}}`,
        "",
        "",
        columns.map((c) => cellTex(section.floor!.cells[c.id], c, "")),
      ));
    }
    for (const block of section.blocks) {
      if (block.title) {
        if (body.length) body.push("    \\addlinespace");
        body.push(`    \\multicolumn{${width}}{@{}l}{\\emph{${latexText(block.title)}}} \\\\`);
      }
      for (const row of block.rows) {
        body.push(line(
          // A long name wraps, ragged right, in a box of the model column's width.
          widthPt(row.label) > labelWidth
            ? `\\parbox[t]{${Math.ceil(labelWidth)}pt}{\\raggedright ${latexText(row.label)}}`
            : latexText(row.label),
          latexText(row.group.backend),
          latexText(seedsText(row.group)),
          columns.map((c) => cellTex(row.cells[c.id], c, mark(row.cells[c.id]))),
        ));
      }
    }
    out.push(
      "\\begin{table}[tbp]",
      "  \\centering",
      "  \\footnotesize",
      `  \\setlength{\\tabcolsep}{${TABCOLSEP_PT}pt}`,
      `  \\caption{${caption}}`,
      `  \\label{tab:genbench-${slug}${parts.length > 1 ? `-${p + 1}` : ""}}`,
      `  \\begin{tabular}{@{}l${multiBackend ? "l" : ""}l${"r".repeat(columns.length)}@{}}`,
      "    \\toprule",
      `    ${head.join(" & ")} \\\\`,
      "    \\midrule",
      ...body,
      "    \\bottomrule",
      "  \\end{tabular}",
      ...(notes.length
        ? [
          "",
          "  \\smallskip",
          `  \\parbox{\\linewidth}{\\scriptsize ${
            notes.map((n, i) => `\\textsuperscript{${String.fromCharCode(97 + i)}}${latexText(n)}.`)
              .join(" ")
          }}`,
        ]
        : []),
      "\\end{table}",
      "",
    );
  });
  return out;
}

/** All tables as LaTeX: per (suite, dataset) one booktabs table per question. */
export function tablesLatex(tables: Table[]): string {
  const lines = [
    "% genbench results: one table per question. Needs \\usepackage{booktabs}.",
    "% Cells: mean \\pm std over seeds, [95% confidence interval, Student t], best in bold.",
    "",
  ];
  for (const table of tables) {
    for (const section of table.sections) lines.push(...sectionTex(table, section));
  }
  return lines.join("\n");
}
