using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>
/// Images and signals: inputs whose features sit on the channel axis ('axes' in the schema), Conv2d in TorchSharp's
/// overloads, BatchNorm2d, pooling modules and functions; branches on values known at build time.
/// </summary>
public class ImageModelTests
{
    // The TorchSharp MNIST example's shape: two convolutions, max pooling, a flatten and two linear layers.
    private const string Mnist = """
        public sealed class Mnist : Module<Tensor, Tensor>
        {
            private readonly Module<Tensor, Tensor> c1 = Conv2d(1, 32, 3);
            private readonly Module<Tensor, Tensor> c2 = Conv2d(32, 64, (3, 3), stride: (1, 1));
            private readonly Module<Tensor, Tensor> bn = BatchNorm2d(64);
            private readonly Module<Tensor, Tensor> pool = MaxPool2d(kernel_size: new long[] { 2, 2 });
            private readonly Module<Tensor, Tensor> flat = Flatten();
            private readonly Module<Tensor, Tensor> f1 = Linear(9216, 128);
            private readonly Module<Tensor, Tensor> f2 = Linear(128, 10);

            public Mnist() : base("mnist") => RegisterComponents();

            public override Tensor forward(Tensor input)
            {
                var a = functional.relu(c1.forward(input.to_type(ScalarType.Float32)));
                var b = pool.forward(functional.relu(bn.forward(c2.forward(a))));
                return f2.forward(functional.relu(f1.forward(flat.forward(b))));
            }
        }
        """;

    private const string MnistSchema = """
        model: Mnist
        version: 1
        inputs:
          input:
            axes: [batch, features, 28, 28]
            features: [gray]
        outputs:
          digit:
            features: [{ name: d, width: 10 }]
        """;

    [Fact]
    public void An_mnist_cnn_reads_with_its_channels_as_features()
    {
        var graph = ModelSource.Graph(ModelSource.Read(Mnist, "Mnist", MnistSchema));

        Assert.Equal(new[] { "input Features [B, 1, 28, 28]" }, ModelSource.Inputs(graph));
        Assert.Equal(1, graph.Inputs[0].FeatureAxis);
        Assert.Equal(new Conv2dSpec(1, 32, 3, 3), graph.FindModule("c1")!.Spec);
        Assert.Equal(new Conv2dSpec(32, 64, 3, 3), graph.FindModule("c2")!.Spec);
        Assert.Equal(new BatchNorm2dSpec(64), graph.FindModule("bn")!.Spec);
        Assert.Contains(graph.Nodes, n => n.Op is PoolOp { Pool: PoolKind.Max } p && p.Kernel.SequenceEqual([2L, 2L]) && p.Stride.SequenceEqual([2L, 2L]));
        Assert.Equal("f1.weight [128, 9216]", ModelSource.StateDict(graph).Single(p => p.StartsWith("f1.weight", System.StringComparison.Ordinal)));
    }

    [Fact]
    public void Two_channel_features_keep_their_own_conv_weight_columns()
    {
        var source = Mnist.Replace("Conv2d(1, 32, 3)", "Conv2d(2, 32, 3)");
        var schema = MnistSchema.Replace("features: [gray]", "features: [gray, depth]");
        var graph = ModelSource.Graph(ModelSource.Read(source, "Mnist", schema));
        var features = FeatureSpace.Bind(graph, ModelSource.Schema(schema));
        var map = StructuredTracer.Trace(graph, features);
        var reference = ReferenceTracer.Trace(graph, features, new TraceOptions { DefaultSymbolSize = 1 });

        // Conv2d mixes positions and the channels into each unit, never one channel into another's weight column.
        var weight = map.Parameters["c1.weight"];
        Assert.Equal(FeatureSet.Of(0), weight.FeaturesAt([5, 0, 1, 2]));
        Assert.Equal(FeatureSet.Of(1), weight.FeaturesAt([5, 1, 2, 0]));
        Assert.Equal(FeatureSet.Of(0).Union(FeatureSet.Of(1)), map.Parameters["c1.bias"].FeaturesAt([7]));
        Assert.Equal(reference.Parameters["c1.weight"], weight.Expand());
        Assert.Equal(reference.Parameters["f2.weight"], map.Parameters["f2.weight"].Expand());
    }

    [Fact]
    public void Conv2d_reads_tuples_and_padding_same()
    {
        const string source = """
            public sealed class Net : Module<Tensor, Tensor>
            {
                private readonly Conv2d a = Conv2d(3, 8, (3, 5), stride: (2, 1), padding: (1, 2), dilation: (1, 1), groups: 1, bias: false);
                private readonly Conv2d b = Conv2d(8, 8, 3, Padding.Same, groups: 4);
                private readonly Module<Tensor, Tensor> gap = AdaptiveAvgPool2d(1);

                public Net() : base("net") => RegisterComponents();

                public override Tensor forward(Tensor x) => gap.forward(b.forward(a.forward(x))).flatten(1);
            }
            """;
        var graph = ModelSource.Graph(ModelSource.Read(source, "Net", """
            model: Net
            version: 1
            inputs:
              x:
                axes: [batch, features, 16, 16]
                features: [r, g, b]
            """));

        Assert.Equal(new Conv2dSpec(3, 8, 3, 5, 2, 1, 1, 2, Bias: false), graph.FindModule("a")!.Spec);
        Assert.Equal(new Conv2dSpec(8, 8, 3, 3, PaddingH: 1, PaddingW: 1, Groups: 4), graph.FindModule("b")!.Spec);
        Assert.Equal("[B, 8]", graph.ShapeOf(graph.Outputs[0].Value).ToString());
    }

    [Fact]
    public void Functional_pooling_reads_and_ceil_mode_is_refused_at_the_call()
    {
        const string source = """
            public sealed class Net : Module<Tensor, Tensor>
            {
                private readonly Conv2d conv = Conv2d(3, 4, 3, padding: 1);

                public Net() : base("net") => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var y = functional.avg_pool2d(conv.forward(x), 2);
                    return functional.max_pool2d(y, 2, 2, ceil_mode: true);
                }
            }
            """;
        var result = ModelSource.Read(source, "Net", "model: Net\nversion: 1\ninputs:\n  x:\n    axes: [batch, features, 8, 8]\n    features: [r, g, b]\n");

        Assert.Equal(
            new[] { "NS1001 (15,16): Unsupported call 'functional.max_pool2d(y, 2, 2, ceil_mode: true)' in Net.forward: functional.max_pool2d: ceil_mode: true gives windows past the input; the mirror follows ceil_mode: false; the model graph is not built" },
            ModelSource.Diagnostics(result));
    }

    [Fact]
    public void An_image_input_declared_flat_gets_a_hint_to_give_its_axes()
    {
        var result = ModelSource.Read(Mnist, "Mnist", MnistSchema.Replace("    axes: [batch, features, 28, 28]\n", string.Empty).Replace("[gray]", "[{ name: pixel, width: 784 }]"));

        var message = Assert.Single(ModelSource.Diagnostics(result));
        Assert.StartsWith("NS1007 (", message, System.StringComparison.Ordinal);
        Assert.Contains("operand 'input' has shape [B, 784]; expected [B, 1, H, W] or [1, H, W] (in_channels 1)", message, System.StringComparison.Ordinal);
        Assert.Contains("give its axes, e.g. 'axes: [batch, features, 28, 28]'", message, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Branches_on_bound_values_and_optional_modules_are_taken()
    {
        const string source = """
            public sealed class Mlp : Module<Tensor, Tensor>
            {
                private const bool Residual = true;
                private readonly Linear fc;
                private readonly Dropout? dropout;

                public Mlp(int width = 8, double p = 0.0) : base("mlp")
                {
                    fc = Linear(width, width);
                    dropout = p > 0.0 ? Dropout(p) : null;
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    var y = fc.forward(x);
                    y = dropout != null ? dropout.forward(y) : y;
                    if (Residual)
                    {
                        y = y + x;
                    }

                    return y;
                }
            }
            """;
        const string schema = "model: Mlp\nversion: 1\ninputs:\n  x:\n    features: [{ name: v, width: 8 }]\n";

        var plain = ModelSource.Graph(ModelSource.Read(source, "Mlp", schema));
        Assert.Equal(new[] { "call fc", "add" }, plain.Nodes.Select(n => ModelSource.Describe(n.Op)));

        var dropped = ModelSource.Graph(ModelSource.Read(source, "Mlp", schema + "arguments:\n  p: 0.25\n"));
        Assert.Equal(new[] { "call fc", "dropout 0.25", "add" }, dropped.Nodes.Select(n => ModelSource.Describe(n.Op)));
    }

    [Fact]
    public void A_branch_on_a_value_unknown_at_build_time_is_refused()
    {
        const string source = """
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);

                public M() : base("m") => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    if (x.shape[0] > 1)
                    {
                        x = fc.forward(x);
                    }

                    return x;
                }
            }
            """;
        var result = ModelSource.Read(source, "M", "model: M\nversion: 1\ninputs:\n  x:\n    features: [a, b, c, d]\n");

        Assert.Equal(
            new[] { "NS1001 (14,9): Unsupported statement 'if (x.shape[0] > 1) { x = fc.forward(x); }' in M.forward: the reader takes a branch only when its condition is known at build time (constants, constructor arguments the schema or defaults bind, whether an optional module was created); the model graph is not built" },
            ModelSource.Diagnostics(result));
    }

    [Fact]
    public void Residual_blocks_with_a_conditional_projection_shortcut_read_as_torchsharp_names_them()
    {
        const string source = """
            public sealed class Block : Module<Tensor, Tensor>
            {
                private readonly Conv2d conv;
                private readonly BatchNorm2d bn;
                private readonly Module<Tensor, Tensor> shortcut;

                public Block(long inPlanes, long planes, long stride, Device? device = null) : base(nameof(Block))
                {
                    conv = Conv2d(inPlanes, planes, 3, stride: stride, padding: 1, bias: false);
                    bn = BatchNorm2d(planes);
                    shortcut = stride != 1 || inPlanes != planes
                        ? Sequential(Conv2d(inPlanes, planes, 1, stride: stride, bias: false), BatchNorm2d(planes))
                        : Sequential();
                    RegisterComponents();
                    if (device != null && device.type != DeviceType.CPU)
                    {
                        this.to(device);
                    }
                }

                public override Tensor forward(Tensor x) => functional.relu(bn.forward(conv.forward(x)) + shortcut.forward(x));
            }

            public sealed class Net : Module<Tensor, Tensor>
            {
                private readonly Sequential layer = Sequential(new Block(3, 8, 2), new Block(8, 8, 1));

                public Net() : base("net") => RegisterComponents();

                public override Tensor forward(Tensor x) => layer.forward(x);
            }
            """;
        var graph = ModelSource.Graph(ModelSource.Read(source, "Net", "model: Net\nversion: 1\ninputs:\n  x:\n    axes: [batch, features, 8, 8]\n    features: [r, g, b]\n"));

        Assert.Equal(
            new[]
            {
                "layer.0.conv.weight [8, 3, 3, 3]", "layer.0.bn.weight [8]", "layer.0.bn.bias [8]", "layer.0.shortcut.0.weight [8, 3, 1, 1]",
                "layer.0.shortcut.1.weight [8]", "layer.0.shortcut.1.bias [8]", "layer.1.conv.weight [8, 8, 3, 3]", "layer.1.bn.weight [8]", "layer.1.bn.bias [8]",
            },
            ModelSource.StateDict(graph).Where(p => !p.Contains("running") && !p.Contains("num_batches")));
        Assert.Equal("[B, 8, 4, 4]", graph.ShapeOf(graph.Outputs[0].Value).ToString());
        Assert.Equal(2, graph.Nodes.Count(n => n.Op is BinaryOp { Operation: BinaryKind.Add }));
    }

    [Fact]
    public void Attention_scores_read_with_matmul_permute_and_a_scale()
    {
        const string source = """
            public sealed class Attention : Module<Tensor, Tensor>
            {
                private const long Heads = 2;
                private const long Width = 8;
                private readonly Linear qkv = Linear(Width, 3 * Width);
                private readonly Linear proj = Linear(Width, Width);

                public Attention() : base("attention") => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var t = x.shape[1];
                    var parts = qkv.forward(x).view(-1, t, 3, Heads, Width / Heads).permute(2, 0, 3, 1, 4);
                    var (q, k, v) = (parts[0], parts[1], parts[2]);
                    var scores = functional.softmax(q.matmul(k.transpose(-2, -1)) * (1.0 / Math.Sqrt(Width / Heads)), -1);
                    var y = scores.matmul(v).permute(0, 2, 1, 3).reshape(-1, t, Width);
                    return proj.forward(y);
                }
            }
            """;
        var result = ModelSource.Read(source, "Attention", "model: Attention\nversion: 1\ninputs:\n  x:\n    axes: [batch, time, features]\n    features: [{ name: e, width: 8 }]\n");
        var graph = result.Graph!;

        // The 1/sqrt(d) scale is known at build time: an exact scale op, no approximation.
        Assert.Empty(result.Diagnostics);
        Assert.Equal(0.5, graph.Nodes.Select(n => n.Op).OfType<ScaleOp>().Single().Factor, 12);

        Assert.Equal(2, graph.Nodes.Count(n => n.Op is MatMulOp));
        Assert.Equal(2, graph.Nodes.Count(n => n.Op is PermuteOp));
        Assert.Equal("[B, time, 8]", graph.ShapeOf(graph.Outputs[0].Value).ToString());
    }

    [Fact]
    public void In_place_residuals_read_and_every_alias_sees_the_change()
    {
        const string source = """
            public sealed class Block : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);

                public Block() : base("block") => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var y = fc.forward(x);
                    var alias = y;
                    y.add_(x).relu_();
                    return alias;
                }
            }
            """;
        var graph = ModelSource.Graph(ModelSource.Read(source, "Block", "model: Block\nversion: 1\ninputs:\n  x:\n    features: [a, b, c, d]\n"));

        // The returned alias is the sum after the ReLU, not the Linear's output it pointed at before.
        Assert.Equal(new[] { "call fc", "add", "relu" }, graph.Nodes.Select(n => ModelSource.Describe(n.Op)));
        Assert.Equal(graph.Nodes[2].Id, graph.Outputs[0].Value.Source);
    }
}
