using System;
using System.CommandLine;
using System.CommandLine.Invocation;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using NeuralSurgery.Cli.Commands;
using NeuralSurgery.Cli.Infrastructure;

namespace NeuralSurgery.Cli;

/// <summary>
/// The <c>surgery</c> tool. Commands only wire library calls to output: parsing, tables, JSON, progress and exit
/// codes (0 ok, 1 user error, 2 internal error; <see cref="ExitCodes"/>).
/// </summary>
public static class Program
{
    public static Task<int> Main(string[] args) => RunAsync(args, CliConsole.ForProcess(), CancellationToken.None);

    /// <summary>Runs the tool in-process with its output captured (tests): never a terminal, so plain text.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, new CliConsole(stdout, stderr, isTerminal: false), CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>The informational version of the tool (with the source revision when the build knew it).</summary>
    public static string Version { get; } =
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(Program).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    internal static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        try
        {
            var root = BuildRoot(console);
            var parsed = root.Parse(args);
            if (parsed.Action is ParseErrorAction)
            {
                // One line, like every other user error; --help shows the usage.
                var path = CommandPath(parsed.CommandResult);
                var help = path.Length == 0 ? "surgery --help" : "surgery " + path + " --help";
                var message = parsed.UnmatchedTokens.Count > 0
                    ? $"unrecognized command or argument '{parsed.UnmatchedTokens[0]}'"
                    : ErrorReport.OneLine(parsed.Errors[0].Message);
                console.Error.WriteLine($"error: {message} (see '{help}')");
                return ExitCodes.UserError;
            }

            var configuration = new InvocationConfiguration
            {
                Output = console.Out,
                Error = console.Error,
                EnableDefaultExceptionHandler = false,
            };
            return await parsed.InvokeAsync(configuration, cancellation).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The tool's last line of defence: every exception becomes an exit code and one line.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ErrorReport.Report(ex, console.Error);
        }
    }

    internal static Command BuildRoot(CliConsole console)
    {
        // A root named "surgery" rather than RootCommand, whose name is the host process's (testhost in-process).
        var root = new Command("surgery", "NeuralSurgery: change TorchSharp models without losing trained weights.")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
            InspectCommand.Create(console),
            SchemaCommand.Create(console),
            GraphCommand.Create(console),
            PlanCommand.Create(console),
            SnapshotCommand.Create(console),
            UpgradeCommand.Create(console),
            ApplyCommand.Create(console),
            ConvertCommand.Create(console),
            DiffCommand.Create(console),
            PatchCommand.Create(console),
            VerifyCommand.Create(console),
            TuneCommand.Create(console),
            UnitsCommand.Prune(console),
            UnitsCommand.Grow(console),
        };

        // The default prints the entry assembly's version, which is the test host's when run in-process.
        foreach (var version in root.Options.OfType<VersionOption>())
        {
            version.Action = new PrintVersionAction(console);
        }

        return root;
    }

    private static string CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new System.Collections.Generic.List<string>();
        for (var r = result; r is not null && r.Parent is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, r.Command.Name);
        }

        return string.Join(' ', names);
    }

    private sealed class PrintVersionAction(CliConsole console) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            console.Out.WriteLine(Version);
            return ExitCodes.Ok;
        }
    }
}
