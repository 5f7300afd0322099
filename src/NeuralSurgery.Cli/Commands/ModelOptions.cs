using System.CommandLine;
using System.Threading;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Cli.Models;
using NeuralSurgery.Collections;
using NeuralSurgery.Diff;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Graph;
using NeuralSurgery.IO;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Cli.Commands;

/// <summary>Options of the commands that read a model as C# source or graph JSON (<c>graph</c>, <c>plan</c>, <c>verify</c>, <c>tune</c>).</summary>
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

    public static Option<string> Model(string name, string which) => new(name)
    {
        Description = $"{which}: C# source (*.cs) or its graph (*.graph.json).",
        Required = true,
        HelpName = "model.cs|model.graph.json",
    };

    public static Option<string?> Schema(string name, string which) => new(name)
    {
        Description = $"{which}'s feature schema (*.features.yaml); without it, the one the class's [SurgeryModel] names, else features named f0, f1, ... per input.",
        HelpName = "s.features.yaml",
    };

    /// <summary>The files a model option reads: the source or graph, its schema, and an explicit TorchSharp.dll.</summary>
    public static CommandFiles ModelInputs(this CommandFiles files, string modelOption, string modelPath, string schemaOption, string? schemaPath, string? torchSharp)
    {
        RequireModelPath(modelPath);
        files.Input(modelOption, modelPath);
        if (schemaPath is not null)
        {
            files.Input(schemaOption, schemaPath);
        }

        if (torchSharp is not null)
        {
            files.Input("--torchsharp", torchSharp);
        }

        return files;
    }

    /// <summary>Refuses a model path that is neither C# source nor graph JSON, before anything is read.</summary>
    public static void RequireModelPath(string path)
    {
        if (!ModelSourceLoader.IsSource(path) && !path.EndsWith(".json", System.StringComparison.OrdinalIgnoreCase))
        {
            throw new CliException($"{path}: expected C# model source (*.cs) or a graph JSON file (*.graph.json or *.json)");
        }
    }

    /// <summary>
    /// Reads a model the way every command does: C# source through the Generator's front end, else graph JSON; with
    /// the schema given, else (for source) the one the class's <c>[SurgeryModel]</c> names, as the build binds it.
    /// </summary>
    public static (ModelGraph Graph, FeatureSchema? Schema) Read(string modelPath, string? schemaPath, string? className, string? torchSharp, CliConsole console, CancellationToken cancellation)
    {
        var (graph, schema, _) = ReadWithSites(modelPath, schemaPath, className, torchSharp, console, cancellation);
        return (graph, schema);
    }

    /// <summary><see cref="Read"/>, with where the source writes each layer's sizes (none for graph JSON).</summary>
    public static (ModelGraph Graph, FeatureSchema? Schema, EquatableArray<WidthSite> Sites) ReadWithSites(string modelPath, string? schemaPath, string? className, string? torchSharp, CliConsole console, CancellationToken cancellation)
    {
        var schema = schemaPath is null ? null : FeatureSchemaReader.Load(schemaPath);
        if (!ModelSourceLoader.IsSource(modelPath))
        {
            return (PlanCommand.ReadGraph(modelPath), schema, EquatableArray<WidthSite>.Empty);
        }

        var loaded = ModelSourceLoader.LoadModel([modelPath], schema, className, torchSharp, console, cancellation);
        return (loaded.Graph, loaded.Schema, loaded.WidthSites);
    }

    /// <summary><see cref="Read"/>, then bound and traced (the interaction map Φ).</summary>
    public static ModelSide Side(string modelPath, string? schemaPath, string? className, string? torchSharp, CliConsole console, CancellationToken cancellation)
    {
        var (graph, schema) = Read(modelPath, schemaPath, className, torchSharp, console, cancellation);
        return ModelSide.Trace(graph, schema);
    }
}
