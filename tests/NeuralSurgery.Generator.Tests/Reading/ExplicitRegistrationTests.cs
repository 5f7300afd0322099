using System.Linq;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>
/// Modules made into locals and registered one by one with register_module (the minGPT SIREN's way), reached in
/// forward through an array field that TorchSharp does not register; auto-properties holding numbers; the
/// ReferenceEquals/Dispose idiom; exact elementwise functions (sin, unary minus).
/// </summary>
public class ExplicitRegistrationTests
{
    private const string Siren = """
        public sealed class Siren : Module<Tensor, Tensor>
        {
            private readonly Linear[] layers;
            public float InnerScale { get; }
            public float InputScale { get; }

            public Siren(int inputSize, int[] innerSizes, float inputScale = 30, float innerScale = 2) : base("Siren")
            {
                InputScale = inputScale;
                InnerScale = innerScale;
                layers = new Linear[innerSizes.Length];
                int width = inputSize;
                for (int i = 0; i < innerSizes.Length; i++)
                {
                    var layer = Linear(inputSize: width, outputSize: innerSizes[i]);
                    layers[i] = layer;
                    init.uniform_(layer.weight, low: -0.1, high: 0.1);
                    register_module($"i{i}", layer);
                    width = innerSizes[i];
                }
            }

            public override Tensor forward(Tensor t)
            {
                var result = t;
                for (int i = 0; i < layers.Length; i++)
                {
                    float scale = i == 0 ? InputScale : InnerScale;
                    var next = layers[i].forward(result);
                    next.mul_(scale);
                    next.sin_();
                    if (!ReferenceEquals(result, t))
                        result.Dispose();
                    result = next;
                }
                return -result;
            }
        }
        """;

    private const string Schema = """
        model: Siren
        version: 1
        inputs:
          t:
            features: [x, y]
        arguments:
          inputSize: 2
          innerSizes: [5, 4, 3]
        """;

    [Fact]
    public void Modules_registered_by_name_are_children_and_forward_reaches_them_through_the_array()
    {
        var result = ModelSource.Read(Siren, "Siren", Schema);
        var graph = ModelSource.Graph(result);

        Assert.DoesNotContain(result.Diagnostics, d => d.Id is "NS1002" or "NS1010");
        Assert.Equal(
            new[] { "i0.weight [5, 2]", "i0.bias [5]", "i1.weight [4, 5]", "i1.bias [4]", "i2.weight [3, 4]", "i2.bias [3]" },
            ModelSource.StateDict(graph));

        // Each layer's output is scaled by the property's value (30 for the first, 2 after it), then sin; the result negated.
        var scales = graph.Nodes.Select(n => n.Op).OfType<ScaleOp>().Select(s => s.Factor).ToArray();
        Assert.Equal(new[] { 30.0, 2.0, 2.0 }, scales);
        Assert.Equal(3, graph.Nodes.Count(n => n.Op is ActivationOp { Activation: ActivationKind.Sin }));
        Assert.IsType<ActivationOp>(graph.Nodes[^1].Op);
        Assert.Equal(ActivationKind.Neg, ((ActivationOp)graph.Nodes[^1].Op).Activation);
    }

    [Fact]
    public void A_module_in_an_array_that_is_never_registered_is_refused_because_its_weights_would_not_be_saved()
    {
        var source = Siren.Replace("register_module($\"i{i}\", layer);", "if (i > 0) register_module($\"i{i}\", layer);");
        var result = ModelSource.Read(source, "Siren", Schema);

        Assert.Null(result.Graph);
        Assert.Contains(ModelSource.Diagnostics(result), d => d.StartsWith("NS1001", System.StringComparison.Ordinal)
            && d.Contains("slot 0 of module array 'layers' holds a module that is never registered", System.StringComparison.Ordinal));
    }

    [Fact]
    public void A_registered_name_used_twice_is_refused()
    {
        var source = Siren.Replace("register_module($\"i{i}\", layer);", "register_module(\"layer\", layer);");
        var result = ModelSource.Read(source, "Siren", Schema);

        Assert.Null(result.Graph);
        Assert.Contains(ModelSource.Diagnostics(result), d => d.Contains("the name given to register_module must be a constant without '.', used once", System.StringComparison.Ordinal));
    }

    [Fact]
    public void A_module_local_assigned_to_a_field_keeps_its_factory()
    {
        const string source = """
            public sealed class Net : Module<Tensor, Tensor>
            {
                private readonly Module<Tensor, Tensor> head;

                public Net(bool wide = true) : base("Net")
                {
                    var hidden = wide ? Linear(2, 8) : Linear(2, 4);
                    head = Sequential(hidden, ReLU(), Linear(wide ? 8 : 4, 1));
                    RegisterComponents();
                }

                public override Tensor forward(Tensor t) => head.forward(t);
            }
            """;
        var graph = ModelSource.Graph(ModelSource.Read(source, "Net", "model: Net\nversion: 1\ninputs:\n  t:\n    features: [x, y]\n"));

        Assert.Equal(new[] { "head.0.weight [8, 2]", "head.0.bias [8]", "head.2.weight [1, 8]", "head.2.bias [1]" }, ModelSource.StateDict(graph));
    }
}

/// <summary>A number known at build time added to or subtracted from a tensor is an exact shift, not an NS1002 fallback.</summary>
public class ScalarShiftTests
{
    [Fact]
    public void Plus_minus_and_one_minus_a_tensor_read_as_exact_affine_scales()
    {
        const string source = """
            public sealed class Gate : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(2, 2);
                private const double Eps = 1e-5;

                public Gate() : base("Gate") => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var g = fc.forward(x).sigmoid();
                    return (1 - g) * (x + Eps) - 0.25;
                }
            }
            """;
        var graph = ModelSource.Graph(ModelSource.Read(source, "Gate", "model: Gate\nversion: 1\ninputs:\n  x:\n    features: [a, b]\n"));

        var scales = graph.Nodes.Select(n => n.Op).OfType<ScaleOp>().ToArray();
        Assert.Equal(new[] { new ScaleOp(-1, 1), new ScaleOp(1, 1e-5), new ScaleOp(1, -0.25) }, scales);
    }

    [Fact]
    public void A_square_by_pow_is_exact_and_another_power_is_an_NS1002_fallback()
    {
        const string source = """
            public sealed class Norm : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(2, 2);

                public Norm() : base("Norm") => RegisterComponents();

                public override Tensor forward(Tensor x) => fc.forward(x.pow(2).mean(new long[] { -1 }, keepdim: true) + x.pow(3));
            }
            """;
        var result = ModelSource.Read(source, "Norm", "model: Norm\nversion: 1\ninputs:\n  x:\n    features: [a, b]\n");
        var graph = ModelSource.Graph(result, allowApproximations: true);

        Assert.Single(graph.Nodes, n => n.Op is ActivationOp { Activation: ActivationKind.Square });
        Assert.Contains(result.Diagnostics, d => d.Id == "NS1002" && d.Message.Contains("'x.pow(3)'", System.StringComparison.Ordinal));
    }
}
