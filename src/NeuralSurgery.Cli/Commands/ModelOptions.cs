using System.CommandLine;

namespace NeuralSurgery.Cli.Commands;

/// <summary>Options of the commands that read TorchSharp model source (<c>graph</c>, <c>plan</c>).</summary>
internal static class ModelOptions
{
    public static Option<string?> Class(string name, string which) => new(name)
    {
        Description = $"The model class of {which} when its source holds several (name or full name).",
        HelpName = "Name",
    };

    public static Option<string?> TorchSharp() => new("--torchsharp")
    {
        Description = "TorchSharp.dll to read model source against (default: the newest in ~/.nuget/packages).",
        HelpName = "TorchSharp.dll",
    };
}
