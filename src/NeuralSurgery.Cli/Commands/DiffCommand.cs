using System.CommandLine;
using System.Linq;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Cli.Infrastructure;

namespace NeuralSurgery.Cli.Commands;

/// <summary><c>surgery diff &lt;a&gt; &lt;b&gt;</c>: per tensor max |a − b|, dtype and shape changes, tensors on one side only.</summary>
internal static class DiffCommand
{
    public static Command Create(CliConsole console)
    {
        var first = new Argument<string>("a") { Description = "The first checkpoint." };
        var second = new Argument<string>("b") { Description = "The second checkpoint." };
        var json = CommonOptions.Json("the comparison");
        var command = new Command("diff", "Compare two checkpoints tensor by tensor: max |a-b| of floating-point tensors of equal shape, dtype and shape changes, tensors only in one.")
        {
            first, second, json,
        };
        command.SetAction((parse, cancellation) =>
        {
            var pathA = CommonOptions.Required(parse.GetValue(first), "a");
            var pathB = CommonOptions.Required(parse.GetValue(second), "b");
            var quiet = parse.GetValue(json);
            using var a = CheckpointReader.Open(pathA);
            using var b = CheckpointReader.Open(pathB);
            CheckpointComparison? comparison = null;
            ProgressDisplay.Run(console, "diff", quiet, update =>
                comparison = CheckpointComparer.Compare(a, b, (done, count, bytes, total) => update(done, count, bytes, total), cancellation));
            if (quiet)
            {
                WriteJson(console, pathA, pathB, comparison!);
            }
            else
            {
                WriteText(console, pathA, pathB, comparison!);
            }

            return System.Threading.Tasks.Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static string ChangeName(TensorChange change) => change switch
    {
        TensorChange.Same => "same",
        TensorChange.Values => "values",
        TensorChange.DType => "dtype",
        TensorChange.Shape => "shape",
        TensorChange.OnlyInA => "only-a",
        _ => "only-b",
    };

    private static string Describe(TensorInfo t) => t.DType.IrName() + Format.Shape(t.Shape);

    private static string Detail(TensorComparison t) => t.Change switch
    {
        TensorChange.Same or TensorChange.Values => string.Empty,
        TensorChange.DType => $"{t.A!.DType.IrName()} -> {t.B!.DType.IrName()}",
        TensorChange.Shape => $"{Describe(t.A!)} -> {Describe(t.B!)}",
        TensorChange.OnlyInA => Describe(t.A!),
        _ => Describe(t.B!),
    };

    private static void WriteText(CliConsole console, string pathA, string pathB, CheckpointComparison comparison)
    {
        console.Out.WriteLine($"a: {pathA}");
        console.Out.WriteLine($"b: {pathB}");
        Tables.Write(
            console,
            ["tensor", "change", ">differing elements", ">max abs diff", "detail"],
            comparison.Tensors.Select(t => new[]
            {
                t.Name,
                ChangeName(t.Change),
                t.DifferingElements is { } n ? Format.Count(n) : "-",
                t.MaxAbsDifference is { } max ? Format.Difference(max) : "-",
                Detail(t),
            }),
            comparison.Tensors.Count);
        foreach (var m in comparison.Metadata)
        {
            console.Out.WriteLine($"metadata {m.Key}: {m.A ?? "(none)"} -> {m.B ?? "(none)"}");
        }

        console.Out.WriteLine($"{comparison.Tensors.Count} tensors: {comparison.Count(TensorChange.Same)} same, {comparison.Count(TensorChange.Values)} values changed, "
            + $"{comparison.Count(TensorChange.DType)} dtype changed, {comparison.Count(TensorChange.Shape)} shape changed, "
            + $"{comparison.Count(TensorChange.OnlyInA)} only in a, {comparison.Count(TensorChange.OnlyInB)} only in b; {comparison.Metadata.Count} metadata keys differ");
    }

    private static void WriteJson(CliConsole console, string pathA, string pathB, CheckpointComparison comparison) => JsonOutput.Write(console.Out, w =>
    {
        w.WriteStartObject();
        w.WriteString("a", pathA);
        w.WriteString("b", pathB);
        w.WriteStartObject("summary");
        w.WriteNumber("tensors", comparison.Tensors.Count);
        foreach (var change in new[] { TensorChange.Same, TensorChange.Values, TensorChange.DType, TensorChange.Shape, TensorChange.OnlyInA, TensorChange.OnlyInB })
        {
            w.WriteNumber(ChangeName(change), comparison.Count(change));
        }

        w.WriteEndObject();
        w.WriteStartArray("tensors");
        foreach (var t in comparison.Tensors)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteString("change", ChangeName(t.Change));
            Side(w, "a", t.A);
            Side(w, "b", t.B);
            if (t.MaxAbsDifference is { } max)
            {
                JsonOutput.WriteDouble(w, "maxAbsDiff", max);
            }
            else
            {
                w.WriteNull("maxAbsDiff");
            }

            if (t.DifferingElements is { } n)
            {
                w.WriteNumber("differingElements", n);
            }
            else
            {
                w.WriteNull("differingElements");
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("metadata");
        foreach (var m in comparison.Metadata)
        {
            w.WriteStartObject();
            w.WriteString("key", m.Key);
            w.WriteString("a", m.A);
            w.WriteString("b", m.B);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static void Side(System.Text.Json.Utf8JsonWriter w, string name, TensorInfo? t)
    {
        if (t is null)
        {
            w.WriteNull(name);
            return;
        }

        w.WriteStartObject(name);
        w.WriteString("dtype", t.DType.IrName());
        JsonOutput.WriteShape(w, "shape", t.Shape);
        w.WriteEndObject();
    }
}
