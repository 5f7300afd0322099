using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace NeuralSurgery.Cli.Infrastructure;

/// <summary>
/// Names come from files (tensor, feature and file names), and a name holding an escape sequence would drive the
/// user's terminal: recolour it, retitle the window, move the cursor over earlier lines. Control characters and
/// bidirectional overrides are written as <c>\x1B</c> / <c>\u202E</c> instead.
/// </summary>
internal static class TerminalText
{
    public static bool IsUnsafe(char c) =>
        char.IsControl(c) || c is (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

    /// <summary>The text with every unsafe character escaped (line breaks too: a name is one line).</summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.AsSpan().IndexOfAnyInRange('\0', '\u001F') < 0 && !text.AsSpan().ContainsAny(Others)
            ? text
            : Escape(text, keep: string.Empty);
    }

    internal static string Escape(ReadOnlySpan<char> text, string keep)
    {
        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (IsUnsafe(c) && keep.IndexOf(c, StringComparison.Ordinal) < 0)
            {
                builder.Append(c <= '\u00FF'
                    ? string.Create(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}")
                    : string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}"));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static readonly System.Buffers.SearchValues<char> Others = System.Buffers.SearchValues.Create(
        "\u007F\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008A\u008B\u008C\u008D\u008E\u008F"
        + "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009A\u009B\u009C\u009D\u009E\u009F"
        + "\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069");
}

/// <summary>
/// The tool's stdout and stderr: every line a command writes passes through <see cref="TerminalText"/>, keeping only
/// line breaks and tabs, so no message can carry an escape sequence from a file to the terminal.
/// </summary>
internal sealed class EscapingWriter : TextWriter
{
    private readonly TextWriter _inner;
    private readonly string _keep;

    public EscapingWriter(TextWriter inner)
        : base(inner.FormatProvider)
    {
        _inner = inner;
        NewLine = inner.NewLine;
        _keep = "\n\t" + inner.NewLine;
    }

    public override Encoding Encoding => _inner.Encoding;

    public override void Write(char value)
    {
        if (TerminalText.IsUnsafe(value) && _keep.IndexOf(value, StringComparison.Ordinal) < 0)
        {
            _inner.Write(TerminalText.Escape([value], _keep));
        }
        else
        {
            _inner.Write(value);
        }
    }

    public override void Write(string? value) => Write(value.AsSpan());

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Write(ReadOnlySpan<char> buffer)
    {
        foreach (var c in buffer)
        {
            if (TerminalText.IsUnsafe(c) && _keep.IndexOf(c, StringComparison.Ordinal) < 0)
            {
                _inner.Write(TerminalText.Escape(buffer, _keep));
                return;
            }
        }

        _inner.Write(buffer);
    }

    public override void WriteLine(string? value)
    {
        Write(value);
        _inner.WriteLine();
    }

    public override void WriteLine() => _inner.WriteLine();

    public override void Flush() => _inner.Flush();
}
