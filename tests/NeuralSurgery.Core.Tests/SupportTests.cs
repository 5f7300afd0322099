using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Tests.Support;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Tests;

public class SupportTests
{
    public static TheoryData<string> ConfigNames => new() { "Small", "Medium", "Large" };

    private static FiveConfig Config(string name) => OpenAiFiveGraphs.Configs.Single(c => c.Name == name).Config;

    [Theory]
    [MemberData(nameof(ConfigNames))]
    public void Five_graphs_of_every_config_build_and_bind_to_their_schema(string name)
    {
        var c = Config(name);
        foreach (var (version, newGroup) in new[] { (1, false), (2, false), (2, true) })
        {
            var (graph, schema) = newGroup ? OpenAiFiveGraphs.BuildWithNewGroup(c) : OpenAiFiveGraphs.Build(c, version);
            var space = FeatureSpace.Bind(graph, schema);

            Assert.Equal(OpenAiFiveGraphs.SlotCount(c, version), space.Count);
            Assert.Equal(OpenAiFiveGraphs.ParameterCount(c, version, newGroup), graph.ParameterElementCount);
            Assert.Equal(version, schema.Version);
            foreach (var output in graph.Outputs)
            {
                var shape = graph.ShapeOf(output.Value);
                if (output.SchemaOutput is null)
                {
                    Assert.Equal(Shape.Of(Dim.Of(1), Dim.Batch, Dim.Of(c.Lstm)), shape);
                }
                else
                {
                    Assert.Equal(Dim.Of(schema.FindOutput(output.SchemaOutput)!.Width), shape[shape.Rank - 1]);
                }
            }

            Assert.Equal(c.HeadSizes.Count, schema.Outputs.Count);
            Assert.Contains(graph.Inputs, i => i.Name == "h0" && i.Role == InputRole.State);
            Assert.True(schema.FindInput("allies")!.IsSet);
            Assert.True(schema.FindInput("unit_type")!.IsSet);
        }
    }

    [Fact]
    public void Large_five_graph_has_openai_five_size()
    {
        var (graph, schema) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Large, 2);
        var space = FeatureSpace.Bind(graph, schema);

        Assert.InRange(graph.ParameterElementCount, 150_000_000L, 170_000_000L);
        Assert.True(space.Count >= 2000, $"{space.Count} slots");
        Assert.Equal(OpenAiFiveGraphs.Large.Lstm, ((RecurrentSpec)graph.FindModule("lstm")!.Spec).HiddenSize);
    }

    [Theory]
    [MemberData(nameof(ConfigNames))]
    public void Version_two_appends_twelve_hero_features(string name)
    {
        var c = Config(name);
        var (g1, s1) = OpenAiFiveGraphs.Build(c, 1);
        var (g2, s2) = OpenAiFiveGraphs.Build(c, 2);
        var f1 = FeatureSpace.Bind(g1, s1);
        var f2 = FeatureSpace.Bind(g2, s2);

        Assert.Equal(12, c.ExtraHeroFeatures);
        Assert.Equal(f1.InputSlots("hero").Length + 12, f2.InputSlots("hero").Length);
        Assert.Equal(f1.Count + 12, f2.Count);

        // The old hero features keep their names and order; the new ones come last.
        var hero1 = s1.FindInput("hero")!.Features.Select(f => f.Name).ToList();
        var hero2 = s2.FindInput("hero")!.Features.Select(f => f.Name).ToList();
        Assert.Equal(hero1, hero2.Take(hero1.Count));
        Assert.Equal(12, hero2.Count - hero1.Count);

        // Only the hero encoder's weight changes shape, by the 12 new columns.
        var changed = g2.Parameters.Where(p => g1.FindParameter(p.Name)?.Shape != p.Shape).Select(p => p.Name).ToList();
        Assert.Equal(["hero_encoder.weight"], changed);
        Assert.Equal(g1.Parameters.Select(p => p.Name), g2.Parameters.Select(p => p.Name));
        Assert.Equal(g2.ParameterElementCount - g1.ParameterElementCount, OpenAiFiveGraphs.ExpectedNewElements(c));
        Assert.Equal(g1.ParameterElementCount, OpenAiFiveGraphs.ExpectedTransferredElements(c));
    }

    [Theory]
    [MemberData(nameof(ConfigNames))]
    public void New_group_variant_reads_the_twelve_features_from_a_new_input(string name)
    {
        var c = Config(name);
        var (g1, _) = OpenAiFiveGraphs.Build(c, 1);
        var (g, s) = OpenAiFiveGraphs.BuildWithNewGroup(c);
        var space = FeatureSpace.Bind(g, s);

        Assert.Equal(12, space.InputSlots("hero_extra").Length);
        Assert.Equal(c.HeroFeatures, space.InputSlots("hero").Length);
        var changed = g1.Parameters.Where(p => g.FindParameter(p.Name)?.Shape != p.Shape).Select(p => p.Name).ToList();
        Assert.Equal(["core.weight"], changed);
        Assert.Equal(
            ["hero_extra_encoder.weight", "hero_extra_encoder.bias"],
            g.Parameters.Select(p => p.Name).Except(g1.Parameters.Select(p => p.Name)));
        Assert.Equal(g.ParameterElementCount - g1.ParameterElementCount, OpenAiFiveGraphs.ExpectedNewElementsWithNewGroup(c));
        Assert.Equal(g1.ParameterElementCount, OpenAiFiveGraphs.ExpectedTransferredElementsWithNewGroup(c));
    }

    [Fact]
    public void Five_builders_reject_unknown_versions()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Small, 3));
    }

    private const int Seeds = 1000;

    /// <summary>Every op, layer and variant the random graphs must exercise over seeds 0..999.</summary>
    private static readonly string[] RequiredTraits =
    [
        // layers
        "Linear", "Linear.bias", "Linear.nobias", "Linear.shared",
        "Embedding", "Embedding.rank1", "Embedding.rank2", "Embedding.shared", "Embedding.same_input_twice",
        "EmbeddingBag", "EmbeddingBag.sum.rows", "EmbeddingBag.mean.offsets", "EmbeddingBag.max.offsets", "EmbeddingBag.include_last_offset",
        "Conv1d", "Conv1d.stride", "Conv1d.padding", "Conv1d.dilation", "Conv1d.groups", "Conv1d.depthwise", "Conv1d.nobias",
        "Conv1d.unbatched", "Conv1d.symbolic_length",
        "LSTM", "LSTM.single_layer", "LSTM.multilayer", "LSTM.bidirectional", "LSTM.batch_first", "LSTM.sequence_first",
        "LSTM.unbatched", "LSTM.nobias", "LSTM.no_initial_state", "LSTM.state_input", "LSTM.computed_state",
        "GRU", "GRU.single_layer", "GRU.multilayer", "GRU.bidirectional", "GRU.batch_first", "GRU.sequence_first",
        "GRU.unbatched", "GRU.nobias", "GRU.no_initial_state", "GRU.state_input", "GRU.computed_state",
        "LayerNorm", "LayerNorm.multi_axis", "LayerNorm.no_affine", "LayerNorm.nobias",
        "BatchNorm1d", "BatchNorm1d.rank2", "BatchNorm1d.rank3", "BatchNorm1d.no_affine", "BatchNorm1d.no_running_stats",
        "GroupNorm", "GroupNorm.groups", "scale.offset",
        "Conv2d", "Conv2d.stride", "Conv2d.padding", "Conv2d.dilation", "Conv2d.asymmetric", "Conv2d.groups", "Conv2d.depthwise",
        "Conv2d.nobias", "Conv2d.unbatched", "Conv2d.symbolic_height",
        "BatchNorm2d", "BatchNorm2d.no_affine", "BatchNorm2d.no_running_stats",
        "AttentionProjection", "AttentionProjection.heads", "AttentionProjection.cross",
        .. new[] { "ConvTranspose1d", "ConvTranspose2d" }.SelectMany(k => new[] { "", ".stride", ".padding", ".output_padding", ".dilation", ".groups", ".nobias", ".unbatched", ".symbolic_length" }.Select(t => k + t)),

        // elementwise
        "dropout", "softmax", "log_softmax",
        .. Enum.GetValues<ActivationKind>().Select(k => "activation." + k),
        "add", "sub", "mul", "binary.broadcast_rank", "binary.broadcast_one", "binary.same_operand",

        // structure
        "concat", "concat.nonlast", "concat.groups", "stack",
        "max", "mean", "sum", "reduce.keepdim", "reduce.drop", "reduce.symbolic_axis", "pool.set_input",
        "reshape", "reshape.infer", "reshape.split_features", "reshape.merge",
        "flatten", "unsqueeze", "squeeze", "narrow", "slice", "slice.step", "transpose",
        "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "pool.padding", "pool.dilation", "pool.stride_not_kernel", "pool.unbatched",
        "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive.non_dividing",
        "adaptive.upsampling", "adaptive.symbolic", "matmul", "permute", "input.channel_features", "Tensor", "scale", "fill",
        "output", "output.state",
    ];

    [Fact]
    public void Random_graphs_are_valid_small_and_cover_every_op_and_layer()
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var nodeKinds = new HashSet<Type>();
        var layerKinds = new HashSet<Type>();
        for (var seed = 0; seed < Seeds; seed++)
        {
            var graph = RandomGraphs.Generate(seed);
            var description = RandomGraphs.Describe(graph);

            // Valid: re-creating it from its parts succeeds and gives the same graph.
            var again = ModelGraph.Create(graph.Name, graph.Inputs, graph.Modules, graph.Nodes, graph.Outputs);
            Assert.True(again == graph, description);

            Assert.True(graph.Nodes.Count is >= 1 and <= 12, $"{graph.Nodes.Count} nodes\n{description}");
            Assert.True(graph.Inputs.Any(i => i.Role == InputRole.Features), description);
            Assert.True(graph.Outputs.Any(o => o.SchemaOutput is not null), description);
            Assert.True(graph.ParameterElementCount < 2000, $"{graph.ParameterElementCount} parameters\n{description}");
            foreach (var shape in graph.Inputs.Select(i => i.Shape).Concat(graph.Nodes.SelectMany(n => n.OutputShapes)))
            {
                Assert.True(shape.Dims.All(d => d.IsConstant ? d.Value is >= 1 and <= 12 : d.Terms.All(t => t.Symbol is "B" or "N")), $"{shape}\n{description}");
                Assert.True(shape.Evaluate(_ => 3).Aggregate(1L, (p, d) => p * d) <= 256, $"{shape}\n{description}");
            }

            // Every graph has a feature space of its own (every categorical input is read by an Embedding).
            Assert.True(FeatureSpace.FromGraph(graph).Count > 0, description);

            foreach (var t in RandomGraphs.Traits(graph))
            {
                seen[t] = seen.TryGetValue(t, out var n) ? n + 1 : 1;
            }

            nodeKinds.UnionWith(graph.Nodes.Select(n => n.Op.GetType()));
            layerKinds.UnionWith(graph.Modules.Select(m => m.Spec.GetType()));
        }

        var missing = RequiredTraits.Where(t => !seen.ContainsKey(t)).ToList();
        Assert.True(missing.Count == 0, "never generated: " + string.Join(", ", missing));

        // Every concrete op and layer type of the IR appears, including ones added to the IR later.
        var ops = typeof(NodeOp).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(NodeOp)) && !t.IsAbstract);
        Assert.Empty(ops.Except(nodeKinds));
        var layers = typeof(LayerSpec).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(LayerSpec)) && !t.IsAbstract);
        Assert.Empty(layers.Except(layerKinds));
        Assert.Empty(Enum.GetValues<ReduceKind>().Select(k => k.ToString().ToLowerInvariant()).Except(seen.Keys));
        Assert.Empty(Enum.GetValues<BinaryKind>().Select(k => k.ToString().ToLowerInvariant()).Except(seen.Keys));
    }

    [Fact]
    public void Random_graphs_are_deterministic_for_a_seed()
    {
        for (var seed = 0; seed < 50; seed++)
        {
            Assert.Equal(RandomGraphs.Generate(seed), RandomGraphs.Generate(seed));
            Assert.Equal(RandomGraphs.Describe(RandomGraphs.Generate(seed)), RandomGraphs.Describe(RandomGraphs.Generate(seed)));
        }

        Assert.NotEqual(RandomGraphs.Generate(1), RandomGraphs.Generate(2));
    }

    [Fact]
    public void Random_graphs_respect_tighter_options()
    {
        var options = new RandomGraphOptions { MaxNodes = 4, MaxDim = 3 };
        for (var seed = 0; seed < 200; seed++)
        {
            var graph = RandomGraphs.Generate(seed, options);
            Assert.True(graph.Nodes.Count <= 4, RandomGraphs.Describe(graph));
        }
    }

    [Fact]
    public void Describe_lists_inputs_modules_nodes_and_outputs()
    {
        var b = new GraphBuilder("g");
        var x = b.FeatureInput("x", Dim.Batch, Dim.Symbol("N"), 4);
        var y = b.Max(b.Relu(b.Linear("fc", x, 3, bias: false)), 1);
        b.Output("y", b.Slice(y, -1, 0, null, 2));
        var text = RandomGraphs.Describe(b.Build());

        Assert.Equal(
            "graph g\n"
            + "  input x [B, N, 4] features\n"
            + "  module fc Linear(4 -> 3, no bias)\n"
            + "  fc = fc(x) -> [B, N, 3]\n"
            + "  relu = relu(fc) -> [B, N, 3]\n"
            + "  max = max[axis 1](relu) -> [B, 3]\n"
            + "  slice = slice[axis 1, 0:3:2](max) -> [B, 2]\n"
            + "  output y = slice\n",
            text);
    }
}
