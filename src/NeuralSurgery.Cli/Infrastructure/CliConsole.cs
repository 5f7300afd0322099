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

    private IAnsiConsole? _ansi;

    public CliConsole(TextWriter output, TextWriter error, bool isTerminal)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        Out = output;
        Error = error;
        IsTerminal = isTerminal;
    }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    /// <summary>True when <see cref="Out"/> is an interactive terminal: progress bars instead of plain lines.</summary>
    public bool IsTerminal { get; }

    public IAnsiConsole Ansi => _ansi ??= CreateAnsi();

    /// <summary>The process's own console; a terminal only when stdout is not redirected.</summary>
    public static CliConsole ForProcess() => new(Console.Out, Console.Error, !Console.IsOutputRedirected);

    private IAnsiConsole CreateAnsi()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = IsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = IsTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = IsTerminal ? InteractionSupport.Detect : InteractionSupport.No,
            Out = new AnsiConsoleOutput(Out),
        });
        if (!IsTerminal)
        {
            console.Profile.Width = RedirectedWidth;
        }

        return console;
    }
}
