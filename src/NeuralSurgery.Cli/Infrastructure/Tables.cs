using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace NeuralSurgery.Cli.Infrastructure;

/// <summary>
/// Tables of plain-text cells (tensor names hold '[' and ']', which Spectre would read as markup). On a terminal
/// and up to <see cref="MaxDrawnRows"/> rows, Spectre draws rounded borders; otherwise each row is written as a
/// Markdown line as soon as it is formatted, so logs stay ASCII and a million-row table costs no more memory than
/// one row (Spectre lays a whole table out in memory first: gigabytes for a million tensors).
/// </summary>
internal static class Tables
{
    /// <summary>The most rows drawn by Spectre on a terminal; a longer table is streamed as Markdown lines.</summary>
    public const int MaxDrawnRows = 2_000;

    /// <summary>Column headers; a header starting with '&gt;' is right-aligned (numbers).</summary>
    public static TextTable Create(CliConsole console, params string[] headers) => new(headers);

    public static void Row(TextTable table, params string[] cells) => table.Add(cells);

    public static void Write(CliConsole console, TextTable table) => Write(console, table.Headers, table.Rows, table.Rows.Count);

    /// <summary>
    /// Writes <paramref name="rows"/>, enumerated twice when streamed (once for the column widths, once to write),
    /// so a caller passes a lazy projection of what it already holds rather than a list of formatted rows.
    /// </summary>
    public static void Write(CliConsole console, IReadOnlyList<string> headers, IEnumerable<string[]> rows, int rowCount)
    {
        if (console.IsTerminal && rowCount <= MaxDrawnRows)
        {
            console.Ansi.Write(Draw(headers, rows));
            return;
        }

        var right = headers.Select(h => h.StartsWith('>')).ToArray();
        var names = headers.Select(h => h.StartsWith('>') ? h[1..] : h).ToArray();
        var widths = names.Select(Width).ToArray();
        foreach (var row in rows)
        {
            for (var c = 0; c < widths.Length; c++)
            {
                widths[c] = Math.Max(widths[c], Width(Cell(row, c)));
            }
        }

        var line = new StringBuilder();
        WriteLine(console, line, names, widths, right);
        line.Clear().Append('|');
        for (var c = 0; c < widths.Length; c++)
        {
            line.Append(' ').Append('-', right[c] ? widths[c] - 1 : widths[c]).Append(right[c] ? ":" : string.Empty).Append(" |");
        }

        console.Out.WriteLine(line.ToString());
        foreach (var row in rows)
        {
            WriteLine(console, line, row, widths, right);
        }
    }

    private static Table Draw(IReadOnlyList<string> headers, IEnumerable<string[]> rows)
    {
        var table = new Table { Border = TableBorder.Rounded };
        foreach (var header in headers)
        {
            var right = header.StartsWith('>');
            var column = new TableColumn(new Text(right ? header[1..] : header));
            if (right)
            {
                column.RightAligned();
            }

            table.AddColumn(column);
        }

        foreach (var row in rows)
        {
            table.AddRow(row.Select(c => (IRenderable)new Text(TerminalText.Escape(c))).ToArray());
        }

        return table;
    }

    private static void WriteLine(CliConsole console, StringBuilder line, IReadOnlyList<string> cells, int[] widths, bool[] right)
    {
        line.Clear().Append('|');
        for (var c = 0; c < widths.Length; c++)
        {
            var text = Cell(cells, c);
            var pad = widths[c] - Width(text);
            line.Append(' ');
            if (right[c])
            {
                line.Append(' ', pad).Append(text);
            }
            else
            {
                line.Append(text).Append(' ', pad);
            }

            line.Append(" |");
        }

        // Trailing spaces only come from an empty last cell; logs and test expectations stay clean without them.
        console.Out.WriteLine(line.ToString().TrimEnd());
    }

    /// <summary>The cell as it will be printed: control characters escaped (as the console's writer does).</summary>
    private static string Cell(IReadOnlyList<string> cells, int column) => column < cells.Count ? TerminalText.Escape(cells[column]) : string.Empty;

    /// <summary>Characters as a reader counts them (a letter with its combining marks is one).</summary>
    private static int Width(string text) => new System.Globalization.StringInfo(text).LengthInTextElements;
}

/// <summary>The rows of a small table, kept until <see cref="Tables.Write(CliConsole, TextTable)"/>.</summary>
internal sealed class TextTable(string[] headers)
{
    public IReadOnlyList<string> Headers { get; } = headers;

    public List<string[]> Rows { get; } = [];

    public void Add(string[] cells) => Rows.Add(cells);
}
