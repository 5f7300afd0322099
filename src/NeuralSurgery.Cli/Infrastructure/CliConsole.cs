using System;
using System.IO;
using Spectre.Console;

namespace NeuralSurgery.Cli.Infrastructure;

/// <summary>
/// Where a command writes: <see cref="Out"/> for results, <see cref="Error"/> for the one-line error, and a Spectre
/// console over <see cref="Out"/> for tables and progress bars. Off a terminal (redirected, or in tests) the Spectre
/// console writes plain text: no colours, no cursor movement, a fixed width so tables do not wrap.
/// </summary>
internal sealed class CliConsole
{
    /// <summary>Table width when the output is not a terminal: wide enough for state_dict names and shapes.</summary>
    private const int RedirectedWidth = 240;

    private readonly TextWriter _rawOut;
    private IAnsiConsole? _ansi;

    public CliConsole(TextWriter output, TextWriter error, bool isTerminal)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        _rawOut = output;
        Out = new EscapingWriter(output);
        Error = new EscapingWriter(error);
        IsTerminal = isTerminal;
    }

    /// <summary>Results; control characters from file contents are escaped (<see cref="EscapingWriter"/>).</summary>
    public TextWriter Out { get; }

    /// <summary>The error line and diagnostics, escaped as <see cref="Out"/> is.</summary>
    public TextWriter Error { get; }

    /// <summary>True when <see cref="Out"/> is an interactive terminal: progress bars instead of plain lines.</summary>
    public bool IsTerminal { get; }

    public IAnsiConsole Ansi => _ansi ??= CreateAnsi();

    /// <summary>
    /// The process's own console; a terminal only when stdout is not redirected and TERM is not "dumb" (editors'
    /// and CI's pseudo-terminals that show escape codes as text).
    /// </summary>
    public static CliConsole ForProcess() => new(Console.Out, Console.Error,
        !Console.IsOutputRedirected && !string.Equals(Environment.GetEnvironmentVariable("TERM"), "dumb", StringComparison.Ordinal));

    private IAnsiConsole CreateAnsi()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = IsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = IsTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = IsTerminal ? InteractionSupport.Detect : InteractionSupport.No,
            // Spectre's own colours need the raw writer on a terminal (it also recognises the console by it); its
            // cells are escaped by Tables.Row instead.
            Out = new AnsiConsoleOutput(IsTerminal ? _rawOut : Out),
        });
        if (!IsTerminal)
        {
            console.Profile.Width = RedirectedWidth;
        }

        return console;
    }
}
