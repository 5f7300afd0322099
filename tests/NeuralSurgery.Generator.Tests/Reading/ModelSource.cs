using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NeuralSurgery.Generator.Reading;
using NeuralSurgery.Graph;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>
/// Compiles model source text against the real TorchSharp package (0.107) and the trusted platform
/// assemblies, and runs the model reader on one class.
/// </summary>
internal static class ModelSource
{
    public const string Path = "Model.cs";

    /// <summary>The usings every test model starts with (5 lines, so a model's first line is line 6).</summary>
    public const string Usings = """
        using System;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        """;

    internal static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(System.IO.Path.PathSeparator);
        return tpa
            .Where(p => System.IO.Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || System.IO.Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Append(typeof(TorchSharp.torch).Assembly.Location)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToArray();
    });

    public static CSharpCompilation Compile(string source)
    {
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest), Path);
        var compilation = CSharpCompilation.Create(
            "Models",
            [tree],
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "the test model does not compile:\n" + string.Join("\n", errors));
        return compilation;
    }

    public static FeatureSchema Schema(string yaml, string path = "model.features.yaml") => FeatureSchemaReader.ParseOrThrow(yaml, path);

    /// <summary>Reads <paramref name="className"/> from <paramref name="source"/> (which gets <see cref="Usings"/> prepended).</summary>
    public static ModelReadResult Read(string source, string className, FeatureSchema? schema)
    {
        var compilation = Compile(Usings + source);
        var type = compilation.GetTypeByMetadataName(className) ?? throw new InvalidOperationException("no class " + className);
        return ModelReader.Read(compilation, type, schema, CancellationToken.None);
    }

    public static ModelReadResult Read(string source, string className, string? yaml) =>
        Read(source, className, yaml is null ? null : Schema(yaml));

    /// <summary>The graph, asserting it was built without any diagnostic (but NS1002 fallbacks when allowed).</summary>
    public static ModelGraph Graph(ModelReadResult result, bool allowApproximations = false)
    {
        var unexpected = result.Diagnostics.Where(d => !(allowApproximations && d.Id == "NS1002")).ToList();
        Assert.True(unexpected.Count == 0, "unexpected diagnostics:\n" + string.Join("\n", unexpected));
        Assert.NotNull(result.Graph);
        return result.Graph!;
    }

    /// <summary>state_dict names with shapes, in order: <c>fc1.weight [64, 16]</c>.</summary>
    public static string[] StateDict(ModelGraph graph) => graph.Parameters.Select(p => p.Name + " " + p.Shape).ToArray();

    /// <summary>Nodes as <c>id = op(operands) -> shapes</c>.</summary>
    public static string[] Nodes(ModelGraph graph) =>
        graph.Nodes.Select(n => $"{n.Id} = {Describe(n.Op)}({string.Join(", ", n.Operands)}) -> {string.Join(", ", n.OutputShapes)}").ToArray();

    public static string[] Inputs(ModelGraph graph) =>
        graph.Inputs.Select(i => $"{i.Name} {i.Role} {i.Shape}").ToArray();

    public static string[] Outputs(ModelGraph graph) =>
        graph.Outputs.Select(o => $"{o.Name} = {o.Value}" + (o.SchemaOutput is null ? " (state)" : string.Empty)).ToArray();

    public static string Describe(NodeOp op) => op switch
    {
        CallOp c => "call " + c.Module,
        ActivationOp a => a.Activation.ToString().ToLowerInvariant(),
        SoftmaxOp s => s.Kind + " " + s.Axis,
        DropoutOp d => "dropout " + d.P.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ConcatOp c => "concat " + c.Axis,
        StackOp s => "stack " + s.Axis,
        ReduceOp r => r.Kind + " " + r.Axis + (r.KeepDim ? " keep" : string.Empty),
        ReshapeOp r => "reshape [" + string.Join(", ", r.Target) + "]",
        FlattenOp f => "flatten " + f.StartAxis + ".." + f.EndAxis,
        UnsqueezeOp u => "unsqueeze " + u.Axis,
        SqueezeOp s => "squeeze " + s.Axis,
        NarrowOp n => $"narrow {n.Axis} {n.Start} {n.Length}",
        SliceOp s => $"slice {s.Axis} {s.Start}:{s.End}:{s.Step}",
        TransposeOp t => $"transpose {t.Axis0} {t.Axis1}",
        _ => op.Kind,
    };

    /// <summary>Diagnostics as <c>NS1001 (line,col): message</c>, lines and columns 1-based.</summary>
    public static string[] Diagnostics(ModelReadResult result) =>
        result.Diagnostics.Select(d => $"{d.Id} ({d.Location.Line},{d.Location.Column}): {d.Message}").ToArray();
}
