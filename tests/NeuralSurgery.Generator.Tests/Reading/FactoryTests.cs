using System.Linq;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>
/// Models built by a static factory named in the schema (<c>factory: ResNet18</c>) that passes a block factory lambda
/// into the constructor; a running width kept in a mutable field that helper methods advance, as ported PyTorch
/// ResNets keep <c>in_planes</c>.
/// </summary>
public class FactoryTests
{
    private const string ResNet = """
        public sealed class Net : Module<Tensor, Tensor>
        {
            private readonly Module<Tensor, Tensor> layers;
            private long width = 4;

            public static Net Small(int classes) => new Net((name, i, p, s) => new Block(name, i, p, s), new[] { 1, 2 }, classes);

            public Net(Func<string, long, long, long, Module<Tensor, Tensor>> block, System.Collections.Generic.IList<int> counts, int classes) : base("Net")
            {
                var modules = new System.Collections.Generic.List<(string, Module<Tensor, Tensor>)>();
                modules.Add(("stem", Conv2d(3, 4, 3, padding: 1)));
                Stage(modules, block, 4, counts[0], 1);
                Stage(modules, block, 8, counts[1], 2);
                modules.Add(("pool", AdaptiveAvgPool2d(1)));
                modules.Add(("flat", Flatten()));
                modules.Add(("head", Linear(width, classes)));
                layers = Sequential(modules);
                RegisterComponents();
            }

            private void Stage(System.Collections.Generic.List<(string, Module<Tensor, Tensor>)> modules, Func<string, long, long, long, Module<Tensor, Tensor>> block, long planes, int count, long stride)
            {
                for (var i = 0; i < count; i++)
                {
                    modules.Add(($"b{planes}-{i}", block($"b{planes}-{i}", width, planes, i == 0 ? stride : 1)));
                    width = planes;
                }
            }

            public override Tensor forward(Tensor x) => layers.forward(x);

            private sealed class Block : Module<Tensor, Tensor>
            {
                private readonly Module<Tensor, Tensor> body;
                private readonly Module<Tensor, Tensor> shortcut;

                public Block(string name, long inPlanes, long planes, long stride) : base(name)
                {
                    body = Sequential(Conv2d(inPlanes, planes, 3, stride: stride, padding: 1), BatchNorm2d(planes));
                    shortcut = stride != 1 || inPlanes != planes ? Sequential(Conv2d(inPlanes, planes, 1, stride: stride)) : Sequential();
                    RegisterComponents();
                }

                public override Tensor forward(Tensor t) => body.forward(t).add_(shortcut.forward(t)).relu_();
            }
        }
        """;

    private const string Schema = """
        model: Net
        version: 1
        inputs:
          x:
            axes: [batch, features, 8, 8]
            features: [r, g, b]
        factory: Small
        arguments:
          classes: 5
        """;

    [Fact]
    public void A_factory_named_in_the_schema_builds_the_model_with_its_block_lambda_and_running_width()
    {
        var graph = ModelSource.Graph(ModelSource.Read(ResNet, "Net", Schema));
        var names = graph.Parameters.Select(p => p.Name + " " + p.Shape).ToList();

        Assert.Contains("layers.b4-0.body.0.weight [4, 4, 3, 3]", names);
        Assert.Contains("layers.b8-0.body.0.weight [8, 4, 3, 3]", names);
        Assert.Contains("layers.b8-1.body.0.weight [8, 8, 3, 3]", names);

        // Only the block that changes width or stride has a projection shortcut.
        Assert.Contains("layers.b8-0.shortcut.0.weight [8, 4, 1, 1]", names);
        Assert.DoesNotContain(names, n => n.StartsWith("layers.b4-0.shortcut", System.StringComparison.Ordinal));
        Assert.DoesNotContain(names, n => n.StartsWith("layers.b8-1.shortcut", System.StringComparison.Ordinal));
        Assert.Contains("layers.head.weight [5, 8]", names);
    }

    [Fact]
    public void A_factory_that_names_no_static_builder_is_refused_at_its_schema_line()
    {
        var result = ModelSource.Read(ResNet, "Net", Schema.Replace("factory: Small", "factory: Large"));

        Assert.Null(result.Graph);
        var message = Assert.Single(ModelSource.Diagnostics(result), d => d.StartsWith("NS1017", System.StringComparison.Ordinal));
        Assert.Contains("Argument 'factory: Large' in model.features.yaml names no static method of Net whose body returns 'new Net(...)'; expected one of: Small", message, System.StringComparison.Ordinal);
        Assert.StartsWith("NS1017 (7,10)", message, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_factory_the_constructor_lambda_is_unbound_and_named()
    {
        var result = ModelSource.Read(ResNet, "Net", Schema.Replace("factory: Small\n", string.Empty).Replace("  classes: 5", "  classes: 5\n  counts: [1, 2]"));

        Assert.Null(result.Graph);
        Assert.Contains(ModelSource.Diagnostics(result), d => d.StartsWith("NS1001", System.StringComparison.Ordinal)
            && d.Contains("name that method with 'factory:' in the schema", System.StringComparison.Ordinal));
    }
}

/// <summary>forward parameters beyond the graph's inputs: read as called with their defaults.</summary>
public class ForwardDefaultsTests
{
    private const string Source = """
        public sealed class Net : Module<Tensor, Tensor, Tensor>
        {
            private readonly Linear fc = Linear(2, 3);

            public Net() : base("Net") => RegisterComponents();

            public override Tensor forward(Tensor x, Tensor mask = null) => mask is null ? fc.forward(x) : fc.forward(x * mask);

            public Tensor forward(Tensor x, long steps = 2, bool scaled = true)
            {
                for (var i = 0; i < steps; i++) x = x.relu();
                return scaled ? fc.forward(x) * 0.5 : fc.forward(x);
            }
        }

        public sealed class Outer : Module<Tensor, Tensor>
        {
            private readonly Net inner = new Net();

            public Outer() : base("Outer") => RegisterComponents();

            public override Tensor forward(Tensor x) => inner.forward(x, 3);
        }
        """;

    private const string Schema = "model: Net\nversion: 1\ninputs:\n  x:\n    features: [a, b]\n";

    [Fact]
    public void An_optional_tensor_without_a_schema_entry_is_read_as_absent()
    {
        var graph = ModelSource.Graph(ModelSource.Read(Source, "Net", Schema));

        Assert.Equal(new[] { "x Features [B, 2]" }, ModelSource.Inputs(graph));
        Assert.Equal(new[] { "fc = call fc(x) -> [B, 3]" }, ModelSource.Nodes(graph));
    }

    [Fact]
    public void Numbers_and_flags_passed_to_a_module_bind_its_parameters_and_defaults_fill_the_rest()
    {
        var graph = ModelSource.Graph(ModelSource.Read(Source, "Outer", Schema.Replace("model: Net", "model: Outer")));

        Assert.Equal(3, graph.Nodes.Count(n => n.Op is NeuralSurgery.Graph.ActivationOp));
        Assert.Single(graph.Nodes, n => n.Op is NeuralSurgery.Graph.ScaleOp);
    }

    [Fact]
    public void A_forward_parameter_that_is_not_a_tensor_and_has_no_default_is_refused()
    {
        const string source = """
            public sealed class Net : Module<Tensor, long, Tensor>
            {
                private readonly Linear fc = Linear(2, 3);

                public Net() : base("Net") => RegisterComponents();

                public override Tensor forward(Tensor x, long steps) => fc.forward(x);
            }
            """;
        var result = ModelSource.Read(source, "Net", Schema);

        Assert.Null(result.Graph);
        Assert.Contains(ModelSource.Diagnostics(result), d => d.Contains("a forward parameter that is not a tensor needs a default value", System.StringComparison.Ordinal));
    }
}

/// <summary>Hostile module factories: a lambda handed itself must end in a diagnostic, not a stack overflow in the compiler.</summary>
public class HostileFactoryTests
{
    [Fact]
    public void A_lambda_that_calls_itself_through_its_argument_is_refused()
    {
        const string source = """
            public delegate Module<Tensor, Tensor> Maker(Maker self);

            public sealed class Net : Module<Tensor, Tensor>
            {
                private readonly Module<Tensor, Tensor> body;

                public static Net Make() => new Net(g => g(g));

                public Net(Maker make) : base("Net")
                {
                    body = make(make);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => body.forward(x);
            }
            """;
        var result = ModelSource.Read(source, "Net", "model: Net\nversion: 1\ninputs:\n  x:\n    features: [a, b]\nfactory: Make\n");

        Assert.Null(result.Graph);
        Assert.Contains(ModelSource.Diagnostics(result), d => d.Contains("module factory lambdas call each other more than 32 deep", System.StringComparison.Ordinal));
    }
}
