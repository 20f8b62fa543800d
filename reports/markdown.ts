/**
 * The table model (tables.ts) as Markdown (`tables.md`, `summary.md`) and CSV (`tables.csv`):
 * a ranked summary first, then one table per question.
 */
import {
  type Block,
  type Cell,
  cellParts,
  type Column,
  headlines,
  KIND_NOTE,
  kindLabel,
  type Section,
  seedsText,
  statusText,
  subsetNote,
  type Table,
  tableHeading,
} from "./tables.ts";

/** Escape text for a Markdown table cell. */
export function markdownEscape(text: string): string {
  return text.replace(/[\\|*_`<>\[\]]/g, (c) => `\\${c}`);
}

/** Footnote markers for subset notes: ¹ ² ³ … */
const MARKS = ["¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"];

/** Collects the distinct subset notes of a table and hands out their markers. */
class Notes {
  readonly notes: string[] = [];
  mark(note: string | null): string {
    if (note === null) return "";
    let i = this.notes.indexOf(note);
    if (i === -1) i = this.notes.push(note) - 1;
    return MARKS[i] ?? `(${i + 1})`;
  }
  lines(): string[] {
    return this.notes.map((note, i) => `${MARKS[i] ?? `(${i + 1})`} ${note}.`);
  }
}

function markdownCell(cell: Cell | undefined, column: Column, table: Table, notes: Notes): string {
  const parts = cell ? cellParts(cell, column) : null;
  if (!cell || !parts) return "—";
  const core = parts.std === null ? parts.mean : `${parts.mean} ± ${parts.std}`;
  const text = cell.best ? `**${core}**` : core;
  const mark = notes.mark(subsetNote(cell, table));
  return (parts.low === null ? text : `${text} [${parts.low}, ${parts.high}]`) + mark;
}

/** A value with its unit, e.g. `92.45 nats`, for the ranked summary. */
export function valueText(cell: Cell, column: Column): string {
  const parts = cellParts(cell, column)!;
  const core = parts.std === null ? parts.mean : `${parts.mean} ± ${parts.std}`;
  return `${core}${column.unitLabel ? ` ${column.unitLabel}` : ""}`;
}

/** The question a headline answers, e.g. `Likelihood (exact)`, `Sample quality (FID ↓)`. */
export function headlineQuestion(section: Section, block: Block, column: Column): string {
  const kind = block.kind ? kindLabel(block.kind, block.k) : null;
  return `${section.title} (${kind ?? column.title.replace(/ \(.*\)/, "")})`;
}

function summaryLines(table: Table): string[] {
  const lines = [
    "| Question | Best model | Value | Best per family |",
    "| --- | --- | ---: | --- |",
  ];
  for (const { section, block, column, row, families } of headlines(table)) {
    const perFamily = families.map(({ family, row }) =>
      `${markdownEscape(family)}: ${markdownEscape(row.label)} ${
        valueText(row.cells[column.id], column)
      }`
    ).join("; ");
    lines.push(
      `| ${markdownEscape(headlineQuestion(section, block, column))} | ${
        markdownEscape(row.label)
      } | ${valueText(row.cells[column.id], column)} | ${perFamily} |`,
    );
  }
  return lines.length > 2 ? lines : [];
}

function sectionLines(table: Table, section: Section, level: string): string[] {
  const notes = new Notes();
  const multiBackend = table.backends.length > 1;
  const head = ["Model", ...(multiBackend ? ["Backend"] : []), "Seeds"];
  const ranked = section.rankedBy ? ` Ranked by ${section.rankedBy.name}.` : "";
  const lines = [
    `${level} ${section.title}`,
    "",
    section.what + ranked,
    "",
    `| ${[...head, ...section.columns.map((c) => c.title)].join(" | ")} |`,
    `| ${[...head.map(() => "---"), ...section.columns.map(() => "---:")].join(" | ")} |`,
  ];
  if (section.floor) {
    lines.push(
      `| *${section.floor.label}* |${multiBackend ? " |" : ""} | ${
        section.columns.map((c) => markdownCell(section.floor!.cells[c.id], c, table, notes))
          .join(" | ")
      } |`,
    );
  }
  for (const block of section.blocks) {
    if (block.title) {
      lines.push(`| *${block.title}* |${" |".repeat(head.length - 1 + section.columns.length)}`);
    }
    for (const row of block.rows) {
      const cells = [
        markdownEscape(row.label),
        ...(multiBackend ? [markdownEscape(row.group.backend)] : []),
        seedsText(row.group),
        ...section.columns.map((c) => markdownCell(row.cells[c.id], c, table, notes)),
      ];
      lines.push(`| ${cells.join(" | ")} |`);
    }
  }
  const after = notes.lines();
  if (section.question === "likelihood") after.push(KIND_NOTE);
  return [...lines, ...(after.length ? ["", ...after] : []), ""];
}

/** The ranked summary and the question tables of one table, under headings at `level`. */
export function tableMarkdown(table: Table, level = "###"): string[] {
  const summary = summaryLines(table);
  return [
    ...(summary.length ? [`${level} Ranked summary`, "", ...summary, ""] : []),
    ...table.sections.flatMap((section) => sectionLines(table, section, level)),
  ];
}

const CELL_NOTE = "Each cell: mean ± std over seeds [95% confidence interval, Student t]; one " +
  "seed shows its value alone. ↓ lower is better, ↑ higher is better, no arrow: no direction " +
  "(a spread, a count or a setting). Bold: the best value of a column within its block.";

/** All tables as one Markdown document (`tables.md`). */
export function tablesMarkdown(tables: Table[]): string {
  const lines = ["# genbench results", "", CELL_NOTE, ""];
  for (const table of tables) {
    lines.push(`## ${markdownEscape(tableHeading(table))}`, "", ...tableMarkdown(table));
    lines.push("### Runs", "", "Runs behind each row (folders under `runs/`):", "");
    for (const row of table.rows) {
      lines.push(`- ${markdownEscape(row.label)}: ${statusText(row.group)}`);
      for (const run of [...row.group.finished, ...row.group.unfinished]) {
        lines.push(`  - seed ${run.seed}: \`${run.id}\` (${run.status})`);
      }
      for (const run of row.group.superseded) {
        lines.push(
          `  - seed ${run.seed}: \`${run.id}\` (superseded by a newer run of the same seed; ` +
            "not counted)",
        );
      }
    }
    lines.push("");
  }
  return lines.join("\n");
}

export { CELL_NOTE };

function csvField(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** All tables as CSV: one line per (row, metric) with full-precision statistics and run ids. */
export function tablesCsv(tables: Table[]): string {
  const header = [
    "suite",
    "dataset",
    "model",
    "variant",
    "backend",
    "question",
    "metric",
    "kind",
    "k",
    "unit",
    "better",
    "n",
    "test_images",
    "mean",
    "std",
    "ci95_low",
    "ci95_high",
    "best",
    "seeds",
    "run_ids",
  ];
  const lines = [header.join(",")];
  for (const table of tables) {
    for (const section of table.sections) {
      for (const block of section.blocks) {
        for (const row of block.rows) {
          for (const column of section.columns) {
            const cell = row.cells[column.id];
            if (!cell?.stats) continue;
            const { n, mean, std, ci95 } = cell.stats;
            const runs = row.group.finished.filter((r) => r.metrics[column.metric]);
            const num = (v: number) => (Number.isFinite(v) ? v : null);
            lines.push(
              [
                table.suite,
                table.dataset,
                row.group.model,
                row.group.variant,
                row.group.backend,
                section.question,
                column.metric,
                cell.kind,
                cell.k,
                column.unit,
                column.better,
                n,
                cell.subset ?? table.testCount,
                num(mean),
                num(std),
                num(mean - ci95),
                num(mean + ci95),
                cell.best ? "yes" : "no",
                runs.map((r) => r.seed).join(" "),
                runs.map((r) => r.id).join(" "),
              ].map(csvField).join(","),
            );
          }
        }
      }
    }
  }
  return lines.join("\n") + "\n";
}
