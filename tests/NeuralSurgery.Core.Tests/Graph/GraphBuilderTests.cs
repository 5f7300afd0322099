using System;
using System.Linq;
using NeuralSurgery.Graph;
using static NeuralSurgery.Tests.Graph.TestGraphs;

namespace NeuralSurgery.Tests.Graph;

public class GraphBuilderTests
{
    private static void Mentions(Exception e, params string[] parts)
    {
        foreach (var part in parts)
        {
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
        }
    }

    private static ModelGraph BnMlp(long bnFeatures = 8)
    {
        var b = new GraphBuilder("BnMlp");
        var x = b.FeatureInput("x", B, 4);
        var h = b.Linear("fc1", x, bnFeatures);
        h = b.BatchNorm1d("bn", h);
        b.Output("y", b.Linear("fc2", b.Relu(h), 2));
        return b.Build();
    }

    [Fact]
    public void Identical_builds_are_equal_with_equal_hash_codes()
    {
        var a = Everything();
        var b = Everything();
        Assert.NotSame(a, b);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(Mlp(), Mlp());
        Assert.Equal(Mlp().GetHashCode(), Mlp().GetHashCode());
    }

    [Fact]
    public void A_changed_size_makes_graphs_unequal()
    {
        Assert.NotEqual(Mlp(8), Mlp(9));
        Assert.NotEqual(BnMlp(8), BnMlp(9));
    }

    [Fact]
    public void Node_ids_are_stems_with_counters()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4);
        var r1 = b.Relu(x);
        var r2 = b.Relu(r1);
        var r3 = b.Relu(r2);
        Assert.Equal(new[] { "relu", "relu_1", "relu_2" }, new[] { r1.Ref.Source, r2.Ref.Source, r3.Ref.Source });

        b.Module("enc.0", new LinearSpec(4, 4));
        Assert.Equal("enc_0", b.Call("enc.0", x)[0].Ref.Source);
        Assert.Equal("enc_0_1", b.Call("enc.0", x)[0].Ref.Source);
    }

    [Fact]
    public void State_dict_lists_parameters_first_then_buffers()
    {
        var g = BnMlp();
        Assert.Equal(
            new[]
            {
                "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias",
                "bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
            },
            g.Parameters.Select(p => p.Name).ToArray());
        Assert.Equal(new[] { false, false, false, false, false, false, true, true, true }, g.Parameters.Select(p => p.IsBuffer).ToArray());
        Assert.Equal(Shape.Scalar, g.FindParameter("bn.num_batches_tracked")!.Shape);
        Assert.Equal("int64", g.FindParameter("bn.num_batches_tracked")!.Declaration.DType);
        Assert.Equal(ParameterRole.RunningMean, g.FindParameter("bn.running_mean")!.Role);
        Assert.Equal(Shape.Of(8, 4), g.FindParameter("fc1.weight")!.Shape);
        Assert.Equal("bn", g.FindParameter("bn.running_var")!.Module);
        Assert.Equal((8 * 4) + 8 + 8 + 8 + (2 * 8) + 2, g.ParameterElementCount);
    }

    [Fact]
    public void Recurrent_parameter_names_follow_torchsharp()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, N, 3);
        var (o, _, _) = b.Lstm("lstm", x, 5, numLayers: 2, batchFirst: true, bidirectional: true);
        b.Output("y", o);
        var g = b.Build();

        var expected = new[] { "l0", "l0_reverse", "l1", "l1_reverse" }
            .SelectMany(s => new[] { "weight_ih_", "weight_hh_", "bias_ih_", "bias_hh_" }.Select(p => "lstm." + p + s))
            .ToArray();
        Assert.Equal(expected, g.Parameters.Select(p => p.Name).ToArray());
        Assert.Equal(Shape.Of(20, 3), g.FindParameter("lstm.weight_ih_l0")!.Shape);
        Assert.Equal(Shape.Of(20, 10), g.FindParameter("lstm.weight_ih_l1")!.Shape);
        Assert.Equal(Shape.Of(20, 5), g.FindParameter("lstm.weight_hh_l1_reverse")!.Shape);
        Assert.Equal(Shape.Of(20), g.FindParameter("lstm.bias_hh_l1_reverse")!.Shape);
        var p = g.FindParameter("lstm.bias_hh_l1_reverse")!.Declaration;
        Assert.Equal((ParameterRole.BiasHh, 1, true), (p.Role, p.Layer, p.Reverse));
    }

    [Fact]
    public void Gru_without_bias_has_three_gate_blocks_and_no_bias_entries()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", N, B, 3);
        var (o, _) = b.Gru("gru", x, 4, bias: false);
        b.Output("y", o);
        var g = b.Build();
        Assert.Equal(new[] { "gru.weight_ih_l0", "gru.weight_hh_l0" }, g.Parameters.Select(p => p.Name).ToArray());
        Assert.Equal(Shape.Of(12, 3), g.Parameters[0].Shape);
    }

    [Fact]
    public void Other_layer_parameter_names()
    {
        var g = Everything();
        var names = g.Parameters.Select(p => p.Name).ToList();
        Assert.Contains("emb.weight", names);
        Assert.Contains("gru.weight_ih_l1_reverse", names);
        Assert.Contains("conv.weight", names);
        Assert.Contains("conv.bias", names);
        Assert.Contains("ln.weight", names);
        Assert.Contains("ln.bias", names);
        Assert.Contains("fc.weight", names);
        Assert.DoesNotContain("fc.bias", names);
        Assert.Equal(Shape.Of(100, 8), g.FindParameter("emb.weight")!.Shape);
        Assert.Equal(Shape.Of(6, 4, 3), g.FindParameter("conv.weight")!.Shape);
        Assert.Equal(Shape.Of(18, 12), g.FindParameter("gru.weight_ih_l1_reverse")!.Shape);

        // Buffers (BatchNorm1d's running statistics) come after every parameter.
        var firstBuffer = names.IndexOf("bn.running_mean");
        Assert.True(g.Parameters.Take(firstBuffer).All(p => !p.IsBuffer));
        Assert.True(g.Parameters.Skip(firstBuffer).All(p => p.IsBuffer));
        Assert.Equal("head.bias", names[firstBuffer - 1]);
    }

    [Fact]
    public void Calling_an_undeclared_module_is_rejected()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4);
        Mentions(Assert.Throws<GraphException>(() => b.Call("nope", x)), "module 'nope' is not declared");

        var e = Assert.Throws<GraphException>(() => ModelGraph.Create(
            "M",
            new[] { new GraphInput("x", Shape.Of(B, 4), InputRole.Features, "x") },
            Array.Empty<GraphModule>(),
            new[] { new GraphNode("n", new CallOp("nope"), new[] { new ValueRef("x") }, default) },
            Array.Empty<GraphOutput>()));
        Mentions(e, "node 'n'", "module 'nope'", "not declared");
    }

    [Fact]
    public void Redeclaring_a_module_with_another_spec_is_rejected()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 4);
        b.Linear("fc", x, 3);
        Mentions(Assert.Throws<GraphException>(() => b.Linear("fc", x, 5)), "module 'fc'", "already declared");
    }

    [Fact]
    public void Duplicate_names_are_rejected()
    {
        var b = new GraphBuilder("M");
        b.FeatureInput("x", B, 4);
        Mentions(Assert.Throws<GraphException>(() => b.StateInput("x", 1, B, 4)), "name 'x' is used twice");

        var input = new GraphInput("x", Shape.Of(B, 4), InputRole.Features, "x");
        var relu = new GraphNode("r", new ActivationOp(ActivationKind.Relu), new[] { new ValueRef("x") }, default);
        Mentions(
            Assert.Throws<GraphException>(() => ModelGraph.Create("M", new[] { input }, Array.Empty<GraphModule>(), new[] { relu, relu }, Array.Empty<GraphOutput>())),
            "node name 'r' is used twice");
        Mentions(
            Assert.Throws<GraphException>(() => ModelGraph.Create("M", new[] { input }, Array.Empty<GraphModule>(), new[] { relu with { Id = "x" } }, Array.Empty<GraphOutput>())),
            "node name 'x' is used twice");
        Mentions(
            Assert.Throws<GraphException>(() => ModelGraph.Create(
                "M",
                new[] { input },
                new[] { new GraphModule("fc", new LinearSpec(4, 4)), new GraphModule("fc", new LinearSpec(4, 4)) },
                Array.Empty<GraphNode>(),
                Array.Empty<GraphOutput>())),
            "module 'fc' is declared twice");
        Mentions(
            Assert.Throws<GraphException>(() => ModelGraph.Create(
                "M",
                new[] { input },
                Array.Empty<GraphModule>(),
                Array.Empty<GraphNode>(),
                new[] { new GraphOutput("y", new ValueRef("x"), null), new GraphOutput("y", new ValueRef("x"), null) })),
            "output 'y' is declared twice");
    }

    [Fact]
    public void A_categorical_input_is_read_only_by_an_embedding()
    {
        var b = new GraphBuilder("M");
        var t = b.CategoricalInput("t", B, 3);
        var e = Assert.Throws<GraphException>(() => b.Relu(t));
        Mentions(e, "node 'relu' (activation)", "operand 't'", "categorical");
        Mentions(Assert.Throws<GraphException>(() => b.Linear("fc", t, 2)), "operand 't'", "categorical");

        var input = new GraphInput("t", Shape.Of(B, 3), InputRole.Categorical, "t");
        var node = new GraphNode("s", new SoftmaxOp(1, false), new[] { new ValueRef("t") }, default);
        Mentions(
            Assert.Throws<GraphException>(() => ModelGraph.Create("M", new[] { input }, Array.Empty<GraphModule>(), new[] { node }, Array.Empty<GraphOutput>())),
            "node 's' (softmax)",
            "operand 't' is a categorical index input");
    }

    [Fact]
    public void An_embedding_must_read_a_categorical_input()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", B, 3);
        Mentions(Assert.Throws<GraphException>(() => b.Embedding("emb", x, 10, 4)), "'emb'", "Embedding", "operand 'x'", "categorical");

        var e = Assert.Throws<GraphException>(() => ModelGraph.Create(
            "M",
            new[] { new GraphInput("x", Shape.Of(B, 3), InputRole.Features, "x") },
            new[] { new GraphModule("emb", new EmbeddingSpec(10, 4)) },
            new[] { new GraphNode("emb", new CallOp("emb"), new[] { new ValueRef("x") }, default) },
            Array.Empty<GraphOutput>()));
        Mentions(e, "node 'emb' (Embedding 'emb')", "categorical");
    }

    [Fact]
    public void Declared_output_shapes_must_match_the_inferred_ones()
    {
        var input = new GraphInput("x", Shape.Of(B, 4), InputRole.Features, "x");
        var node = new GraphNode("r", new ActivationOp(ActivationKind.Relu), new[] { new ValueRef("x") }, new[] { Shape.Of(B, 5) });
        Mentions(
            Assert.Throws<GraphException>(() => ModelGraph.Create("M", new[] { input }, Array.Empty<GraphModule>(), new[] { node }, Array.Empty<GraphOutput>())),
            "node 'r' (activation)",
            "[B, 5]",
            "[B, 4]");
    }

    [Fact]
    public void Dangling_references_are_rejected()
    {
        var input = new GraphInput("x", Shape.Of(B, 4), InputRole.Features, "x");
        var node = new GraphNode("r", new ActivationOp(ActivationKind.Relu), new[] { new ValueRef("x", 1) }, default);
        Mentions(
            Assert.Throws<GraphException>(() => ModelGraph.Create("M", new[] { input }, Array.Empty<GraphModule>(), new[] { node }, Array.Empty<GraphOutput>())),
            "node 'r'",
            "operand 'x:1'");
        Mentions(
            Assert.Throws<GraphException>(() => ModelGraph.Create("M", new[] { input }, Array.Empty<GraphModule>(), Array.Empty<GraphNode>(), new[] { new GraphOutput("y", new ValueRef("z"), "y") })),
            "output 'y'",
            "'z'");
    }

    [Fact]
    public void Invalid_layer_attributes_are_rejected()
    {
        var input = new[] { new GraphInput("x", Shape.Of(B, 4), InputRole.Features, "x") };
        GraphException Create(LayerSpec spec) => Assert.Throws<GraphException>(() =>
            ModelGraph.Create("M", input, new[] { new GraphModule("m", spec) }, Array.Empty<GraphNode>(), Array.Empty<GraphOutput>()));
        Mentions(Create(new LinearSpec(0, 3)), "module 'm' (Linear)", "in_features is 0");
        Mentions(Create(new Conv1dSpec(4, 6, 3, Groups: 3)), "module 'm' (Conv1d)", "groups (3)");
        Mentions(Create(new RecurrentSpec(RecurrentKind.Gru, 4, 0)), "module 'm' (GRU)", "hidden_size is 0");
        Mentions(Create(new LayerNormSpec(Array.Empty<long>())), "module 'm' (LayerNorm)", "normalized_shape");
    }

    [Fact]
    public void Shape_of_looks_up_inputs_and_node_outputs()
    {
        var g = Everything();
        Assert.Equal(Shape.Of(B, 16), g.ShapeOf(new ValueRef("x")));
        Assert.Equal(Shape.Of(1, B, 12), g.ShapeOf(ValueRef.Parse("lstm:1")));
        Mentions(Assert.Throws<GraphException>(() => g.ShapeOf(new ValueRef("lstm", 3))), "lstm:3");
    }

    [Fact]
    public void Value_refs_print_and_parse()
    {
        Assert.Equal("x", new ValueRef("x").ToString());
        Assert.Equal("lstm:2", new ValueRef("lstm", 2).ToString());
        Assert.Equal(new ValueRef("lstm", 2), ValueRef.Parse("lstm:2"));
        Assert.Equal(new ValueRef("x"), ValueRef.Parse("x"));
    }

    [Theory]
    [InlineData("64")]
    [InlineData("B")]
    [InlineData("-1")]
    [InlineData("2*N+4")]
    [InlineData("M+2*N")]
    [InlineData("-N+3")]
    [InlineData("N-4")]
    [InlineData("B_2")]
    public void Dims_print_and_parse(string text)
    {
        Assert.True(Dim.TryParse(text, out var dim));
        Assert.Equal(text, dim!.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("2N")]
    [InlineData("N*2")]
    [InlineData("B+")]
    [InlineData("--1")]
    [InlineData("1.5")]
    [InlineData(" B")]
    public void Bad_dims_do_not_parse(string text) => Assert.False(Dim.TryParse(text, out _));

    [Fact]
    public void Random_linear_forms_print_and_parse_back_to_equal_dims()
    {
        var random = new Random(1234);
        var symbols = new[] { "B", "M", "N", "T_2" };
        for (var i = 0; i < 500; i++)
        {
            var dim = Dim.Of(random.Next(-20, 21));
            foreach (var symbol in symbols)
            {
                if (random.Next(2) == 0)
                {
                    dim += Dim.Symbol(symbol) * random.Next(-4, 5);
                }
            }

            Assert.True(Dim.TryParse(dim.ToString(), out var parsed), dim.ToString());
            Assert.Equal(dim, parsed);
            Assert.Equal(dim.GetHashCode(), parsed!.GetHashCode());
        }
    }

    [Fact]
    public void Dim_arithmetic_is_canonical()
    {
        var n = Dim.Symbol("N");
        var m = Dim.Symbol("M");
        Assert.Equal(m + n, n + m);
        Assert.Equal(Dim.Of(4), (n + 4) - n);
        Assert.Equal("2*N+4", ((n + 2) * 2).ToString());
        Assert.True(((n + 4) - n).IsConstant);
        Assert.Equal(14L, ((n * 2) + m).Evaluate(s => s == "N" ? 5 : 4));
        Assert.Throws<InvalidOperationException>(() => n.Value);
    }
}
