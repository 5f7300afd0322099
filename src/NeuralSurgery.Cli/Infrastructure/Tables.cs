using System.IO;
using System.Linq;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace NeuralSurgery.Cli.Infrastructure;

/// <summary>
/// Spectre tables whose cells are plain text (tensor names hold '[' and ']', which Spectre would read as markup).
/// Rounded borders on a terminal; Markdown pipes elsewhere, so logs stay ASCII and paste into issues.
/// </summary>
internal static class Tables
{
    /// <summary>Column headers; a header starting with '&gt;' is right-aligned (numbers).</summary>
    public static Table Create(CliConsole console, params string[] headers)
    {
        var table = new Table { Border = console.IsTerminal ? TableBorder.Rounded : TableBorder.Markdown };
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

        return table;
    }

    /// <summary>
    /// On a terminal, Spectre draws the table. Elsewhere it is rendered to text first and the blank lines and
    /// trailing spaces of the Markdown border are dropped, so logs and test expectations stay clean.
    /// </summary>
    public static void Write(CliConsole console, Table table)
    {
        if (console.IsTerminal)
        {
            console.Ansi.Write(table);
            return;
        }

        using var text = new StringWriter();
        var plain = new CliConsole(text, TextWriter.Null, isTerminal: false);
        plain.Ansi.Write(table);
        foreach (var line in text.ToString().ReplaceLineEndings("\n").Split('\n'))
        {
            var trimmed = line.TrimEnd();
            if (trimmed.Length > 0)
            {
                console.Out.WriteLine(trimmed);
            }
        }
    }

    public static void Row(Table table, params string[] cells) =>
        table.AddRow(cells.Select(c => (IRenderable)new Text(TerminalText.Escape(c))).ToArray());
}
