using System;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Cli.Infrastructure;
using NeuralSurgery.Cli.Models;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Cli.Commands;

/// <summary>
/// <c>surgery graph Model.cs --schema s.features.yaml</c>: reads a TorchSharp model class from source with the
/// Generator's model reader (no build), prints its IR and the Φ summary, or the IR as graph JSON.
/// </summary>
internal static class GraphCommand
{
    public static Command Create(CliConsole console)
    {
        var files = new Argument<string[]>("files")
        {
            Description = "The model's C# source (*.cs); more files when the model uses classes declared elsewhere.",
            HelpName = "Model.cs",
            Arity = ArgumentArity.OneOrMore,
        };
        var schema = new Option<string>("--schema") { Description = "The model's feature schema (*.features.yaml).", Required = true, HelpName = "file.features.yaml" };
        var @class = ModelOptions.Class("--class", "the model");
        var torchSharp = ModelOptions.TorchSharp();
        var json = CommonOptions.Json("the graph (graph JSON, as `plan --from` reads it)");
        var command = new Command("graph", "Read a TorchSharp model class from C# source: its graph (inputs, modules, nodes, outputs) and which features each parameter sees.")
        {
            files, schema, @class, torchSharp, json,
        };
        command.SetAction((parse, cancellation) =>
        {
            var paths = parse.GetValue(files) ?? [];
            var features = FeatureSchemaReader.Load(CommonOptions.Required(parse.GetValue(schema), "--schema"));
            var graph = ModelSourceLoader.Load(paths, features, parse.GetValue(@class), parse.GetValue(torchSharp), console, cancellation);
            if (parse.GetValue(json))
            {
                console.Out.Write(GraphJson.Write(graph));
                return System.Threading.Tasks.Task.FromResult(ExitCodes.Ok);
            }

            var side = ModelSide.Trace(graph, features);
            WriteText(console, side);
            return System.Threading.Tasks.Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static void WriteText(CliConsole console, ModelSide side)
    {
        var graph = side.Graph;
        console.Out.WriteLine($"model: {graph.Name}");
        console.Out.WriteLine("inputs:");
        var inputs = Tables.Create(console, "name", "role", "shape", "schema input");
        foreach (var i in graph.Inputs)
        {
            Tables.Row(inputs, i.Name, i.Role.ToString().ToLowerInvariant(), i.Shape.ToString(), i.SchemaInput ?? "-");
        }

        Tables.Write(console, inputs);

        console.Out.WriteLine("modules:");
        var modules = Tables.Create(console, "module", "layer", "state_dict", "shape", ">elements");
        foreach (var m in graph.Modules)
        {
            var parameters = graph.Parameters.Where(p => p.Module == m.Path).ToList();
            if (parameters.Count == 0)
            {
                Tables.Row(modules, m.Path, m.Spec.Kind, "-", "-", "0");
                continue;
            }

            foreach (var p in parameters)
            {
                Tables.Row(modules, m.Path, m.Spec.Kind, p.Name + (p.IsBuffer ? " (buffer)" : string.Empty), p.Shape.ToString(), Format.Count(p.ElementCount));
            }
        }

        Tables.Write(console, modules);

        console.Out.WriteLine("nodes:");
        var nodes = Tables.Create(console, "id", "op", "operands", "shape");
        foreach (var n in graph.Nodes)
        {
            Tables.Row(nodes, n.Id, Describe(n.Op), string.Join(", ", n.Operands), string.Join(", ", n.OutputShapes));
        }

        Tables.Write(console, nodes);

        console.Out.WriteLine("outputs:");
        var outputs = Tables.Create(console, "name", "value", "shape", "schema output");
        foreach (var o in graph.Outputs)
        {
            Tables.Row(outputs, o.Name, o.Value.ToString(), graph.ShapeOf(o.Value).ToString(), o.SchemaOutput ?? "- (state)");
        }

        Tables.Write(console, outputs);

        var map = side.Map;
        console.Out.WriteLine($"features: {Format.Count(map.Features.Slots.Count)} slots");
        var phi = Tables.Create(console, "parameter", ">features seen");
        foreach (var p in graph.Parameters)
        {
            Tables.Row(phi, p.Name + (p.IsBuffer ? " (buffer)" : string.Empty), Format.Count(map.FeaturesOf(p.Name).Count));
        }

        Tables.Write(console, phi);
        var unmapped = map.UnmappedFeatures();
        console.Out.WriteLine(unmapped.Count == 0
            ? "unmapped features: none"
            : $"unmapped features ({Format.Count(unmapped.Count)}): " + string.Join(", ", unmapped.Take(20)) + (unmapped.Count > 20 ? ", ..." : string.Empty));
        console.Out.WriteLine($"interactions: {Format.Count(map.InteractionCount())}");
    }

    /// <summary>An op with its arguments: <c>call fc1</c>, <c>concat 1</c>, <c>narrow 1 0 4</c>.</summary>
    internal static string Describe(NodeOp op) => op.Accept(OpText.Instance, 0);

    /// <summary>One line per op kind; a kind added to the IR without one is a compile error.</summary>
    private sealed class OpText : IOpVisitor<int, string>
    {
        public static readonly OpText Instance = new();

        public string VisitCall(CallOp c, int _) => "call " + c.Module;

        public string VisitActivation(ActivationOp a, int _) => a.Activation.ToString().ToLowerInvariant();

        public string VisitSoftmax(SoftmaxOp s, int _) => s.Kind + " " + I(s.Axis);

        public string VisitDropout(DropoutOp d, int _) => "dropout " + d.P.ToString(CultureInfo.InvariantCulture);

        public string VisitBinary(BinaryOp b, int _) => b.Kind;

        public string VisitConcat(ConcatOp c, int _) => "concat " + I(c.Axis);

        public string VisitStack(StackOp s, int _) => "stack " + I(s.Axis);

        public string VisitReduce(ReduceOp r, int _) => r.Kind + " " + I(r.Axis) + (r.KeepDim ? " keepdim" : string.Empty);

        public string VisitReshape(ReshapeOp r, int _) => "reshape [" + string.Join(", ", r.Target) + "]";

        public string VisitFlatten(FlattenOp f, int _) => $"flatten {I(f.StartAxis)}..{I(f.EndAxis)}";

        public string VisitUnsqueeze(UnsqueezeOp u, int _) => "unsqueeze " + I(u.Axis);

        public string VisitSqueeze(SqueezeOp s, int _) => "squeeze " + I(s.Axis);

        public string VisitNarrow(NarrowOp n, int _) => $"narrow {I(n.Axis)} {I(n.Start)} {n.Length}";

        public string VisitSlice(SliceOp s, int _) => $"slice {I(s.Axis)} {I(s.Start)}:{I(s.End)}:{I(s.Step)}";

        public string VisitTranspose(TransposeOp t, int _) => $"transpose {I(t.Axis0)} {I(t.Axis1)}";

        public string VisitPool(PoolOp p, int _) =>
            $"{p.Kind} kernel [{string.Join(", ", p.Kernel)}] stride [{string.Join(", ", p.Stride)}] padding [{string.Join(", ", p.Padding)}]"
            + (p.Dilation.Any(d => d != 1) ? $" dilation [{string.Join(", ", p.Dilation)}]" : string.Empty);

        public string VisitMatMul(MatMulOp m, int _) => "matmul";

        public string VisitArange(ArangeOp a, int _) => $"arange {I(a.Start)} {a.End}";

        public string VisitFill(FillOp f, int _) => "fill " + f.Value.ToString("R", CultureInfo.InvariantCulture) + " [" + string.Join(", ", f.Target) + "]";

        public string VisitScale(ScaleOp s, int _) =>
            "scale " + s.Factor.ToString("R", CultureInfo.InvariantCulture) + (s.Offset == 0 ? string.Empty : " + " + s.Offset.ToString("R", CultureInfo.InvariantCulture));

        public string VisitPermute(PermuteOp p, int _) => "permute [" + string.Join(", ", p.Dims) + "]";

        public string VisitAdaptivePool(AdaptivePoolOp p, int _) => $"{p.Kind} [{string.Join(", ", p.Output)}]";
    }

    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Per-axis sizes as "3x2" (one number for 1-D).</summary>
    private static string Sizes(System.Collections.Generic.IEnumerable<long> values) => string.Join("x", values.Select(I));
}
