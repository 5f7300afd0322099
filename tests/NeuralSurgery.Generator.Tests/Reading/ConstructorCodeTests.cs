using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>
/// Constructor code the module reader runs at build time: locals, loops with known bounds, helper methods, module
/// lists handed to Sequential or ModuleList, Enumerable.Range(...).Select, plans in dictionaries; and the refusal when
/// a list is built by code it cannot run.
/// </summary>
public class ConstructorCodeTests
{
    // The TorchSharp VGG example's way: a channel plan picked by name from a dictionary, a loop adding named layers.
    private const string Vgg = """
        public sealed class Vgg : Module<Tensor, Tensor>
        {
            private readonly Dictionary<string, long[]> plans = new Dictionary<string, long[]>
            {
                { "tiny", new long[] { 8, 0, 16, 0 } },
                { "small", new long[] { 8, 8, 0, 16, 16, 0 } },
            };

            private readonly Module<Tensor, Tensor> layers;

            public Vgg(string name, int classes = 10) : base(name)
            {
                var modules = new List<(string, Module<Tensor, Tensor>)>();
                var plan = plans[name.ToLower()];
                long channels = 3;
                for (var i = 0; i < plan.Length; i++)
                {
                    if (plan[i] == 0)
                    {
                        modules.Add(($"pool-{i}", MaxPool2d(2)));
                    }
                    else
                    {
                        modules.Add(($"conv-{i}", Conv2d(channels, plan[i], 3, padding: 1)));
                        modules.Add(($"relu-{i}", ReLU()));
                        channels = plan[i];
                    }
                }

                AddHead(modules, channels * 2 * 2, classes);
                layers = Sequential(modules);
                RegisterComponents();
            }

            private void AddHead(List<(string, Module<Tensor, Tensor>)> modules, long inputs, long classes)
            {
                modules.Add(("flatten", Flatten()));
                modules.Add(("linear", Linear(inputs, classes)));
            }

            public override Tensor forward(Tensor x) => layers.forward(x);
        }
        """;

    private static string Schema(string name) =>
        $"model: Vgg\nversion: 1\narguments:\n  name: {name}\ninputs:\n  x:\n    axes: [batch, features, 8, 8]\n    features: [r, g, b]\n";

    [Fact]
    public void A_layer_list_built_by_a_loop_over_a_named_plan_reads_with_the_names_it_gives()
    {
        var graph = ModelSource.Graph(ModelSource.Read("using System.Collections.Generic;\n" + Vgg, "Vgg", Schema("Small")));

        Assert.Equal(
            new[]
            {
                "layers.conv-0.weight [8, 3, 3, 3]", "layers.conv-0.bias [8]", "layers.conv-1.weight [8, 8, 3, 3]", "layers.conv-1.bias [8]",
                "layers.conv-3.weight [16, 8, 3, 3]", "layers.conv-3.bias [16]", "layers.conv-4.weight [16, 16, 3, 3]", "layers.conv-4.bias [16]",
                "layers.linear.weight [10, 64]", "layers.linear.bias [10]",
            },
            ModelSource.StateDict(graph));
        Assert.Equal(2, graph.Nodes.Count(n => n.Op is PoolOp));

        var tiny = ModelSource.Graph(ModelSource.Read("using System.Collections.Generic;\n" + Vgg, "Vgg", Schema("tiny")));
        Assert.Equal("layers.linear.weight [10, 64]", ModelSource.StateDict(tiny).Last(p => p.Contains("weight")));
        Assert.Equal(2, tiny.Modules.Count(m => m.Spec is Conv2dSpec));
    }

    [Fact]
    public void Heads_made_by_enumerable_range_select_are_a_module_list()
    {
        const string source = """
            public sealed class Heads : Module<Tensor, Tensor>
            {
                private readonly ModuleList<Linear> heads;

                public Heads(int count = 3, int width = 4) : base("heads")
                {
                    heads = ModuleList<Linear>(Enumerable.Range(0, count).Select(h => Linear(width, h + 1)).ToArray());
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    var outputs = new List<Tensor>();
                    foreach (var head in heads)
                    {
                        outputs.Add(head.forward(x));
                    }

                    return torch.cat(outputs, 1);
                }
            }
            """;
        var result = ModelSource.Read("using System.Linq;\nusing System.Collections.Generic;\n" + source, "Heads", "model: Heads\nversion: 1\ninputs:\n  x:\n    features: [a, b, c, d]\n");

        Assert.True(result.Graph is not null, string.Join("\n", ModelSource.Diagnostics(result)));
        Assert.Equal(new[] { "heads.0.weight [1, 4]", "heads.0.bias [1]", "heads.1.weight [2, 4]", "heads.1.bias [2]", "heads.2.weight [3, 4]", "heads.2.bias [3]" }, ModelSource.StateDict(result.Graph!));
    }

    [Fact]
    public void A_list_filled_in_a_loop_whose_bound_is_unknown_is_refused_at_the_container()
    {
        const string source = """
            public sealed class Deep : Module<Tensor, Tensor>
            {
                private readonly Module<Tensor, Tensor> layers;

                public Deep(int depth) : base("deep")
                {
                    var modules = new List<Module<Tensor, Tensor>>();
                    for (var i = 0; i < depth; i++)
                    {
                        modules.Add(Linear(4, 4));
                    }

                    layers = Sequential(modules);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => layers.forward(x);
            }
            """;
        var result = ModelSource.Read("using System.Collections.Generic;\n" + source, "Deep", "model: Deep\nversion: 1\ninputs:\n  x:\n    features: [a, b, c, d]\n");

        Assert.Null(result.Graph);
        Assert.Equal(
            new[] { "NS1001 (19,29): Unsupported argument 'modules' in Deep constructor: the children of Sequential must be listed in the call or built in the constructor with constant bounds: modules are added to it in a loop whose bounds are not known or that runs more than 4096 times; the model graph is not built" },
            ModelSource.Diagnostics(result));
    }

    [Fact]
    public void Forward_loops_over_a_module_list_by_index_and_scalar_math_read()
    {
        const string source = """
            public sealed class Stack : Module<Tensor, Tensor>
            {
                private const int Width = 16;
                private readonly ModuleList<Module<Tensor, Tensor>> parts = new ModuleList<Module<Tensor, Tensor>>(Linear(4, Width), Linear(Width, 2));

                public Stack() : base("stack") => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    for (var i = 0; i < parts.Count; i++)
                    {
                        x = parts[i].forward(x) * Math.Sqrt(Width);
                    }

                    return x;
                }
            }
            """;
        var result = ModelSource.Read(source, "Stack", "model: Stack\nversion: 1\ninputs:\n  x:\n    features: [a, b, c, d]\n");

        Assert.NotNull(result.Graph);
        // Math.Sqrt(Width) is known at build time: an exact scale after each layer, nothing approximated.
        Assert.Equal(new[] { "call parts.0", "scale", "call parts.1", "scale" }, result.Graph!.Nodes.Select(n => ModelSource.Describe(n.Op)));
        Assert.Empty(result.Diagnostics);
    }

    [Fact]
    public void A_forward_loop_whose_bound_is_unknown_is_refused()
    {
        const string source = """
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);

                public M() : base("m") => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    for (var i = 0; i < x.shape[0]; i++)
                    {
                        x = fc.forward(x);
                    }

                    return x;
                }
            }
            """;
        var result = ModelSource.Read(source, "M", "model: M\nversion: 1\ninputs:\n  x:\n    features: [a, b, c, d]\n");

        Assert.Null(result.Graph);
        Assert.Contains(
            "NS1001 (14,9): Unsupported statement 'for (var i = 0; i < x.shape[0]; i++) { x = fc.forward(x); }' in M.forward: the reader unrolls foreach over a ModuleList or Sequential field and for loops whose counter runs between bounds known at build time; the model graph is not built",
            ModelSource.Diagnostics(result));
    }

    [Fact]
    public void A_module_dict_filled_in_the_constructor_reads_by_key_and_an_unknown_key_is_refused()
    {
        const string source = """
            public sealed class Named : Module<Tensor, Tensor>
            {
                private readonly ModuleDict<Module<Tensor, Tensor>> parts = new ModuleDict<Module<Tensor, Tensor>>();

                public Named() : base("named")
                {
                    parts.Add("encoder", Linear(4, 8));
                    parts.Add("head", Linear(8, 2));
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => parts["KEY"].forward(parts["encoder"].forward(x));
            }
            """;
        const string schema = "model: Named\nversion: 1\ninputs:\n  x:\n    features: [a, b, c, d]\n";

        var graph = ModelSource.Graph(ModelSource.Read(source.Replace("KEY", "head"), "Named", schema));
        Assert.Equal(new[] { "parts.encoder.weight [8, 4]", "parts.encoder.bias [8]", "parts.head.weight [2, 8]", "parts.head.bias [2]" }, ModelSource.StateDict(graph));

        var wrong = ModelSource.Read(source.Replace("KEY", "decoder"), "Named", schema);
        Assert.Null(wrong.Graph);
        Assert.Equal(
            new[] { "NS1001 (17,49): Unsupported indexer 'parts[\"decoder\"]' in Named.forward: ModuleDict 'parts' has no child named 'decoder'; the model graph is not built" },
            ModelSource.Diagnostics(wrong));
    }

    [Fact]
    public void Parameter_and_buffer_fields_read_with_their_state_dict_names_and_interactions()
    {
        const string source = """
            public sealed class Norm : Module<Tensor, Tensor>
            {
                private readonly Parameter weight = nn.Parameter(torch.ones(4));
                private readonly Parameter positions = Parameter(torch.zeros(3, 4));
                private readonly Linear head = Linear(4, 2);

                public Norm() : base("norm")
                {
                    register_buffer("causal", torch.tril(torch.ones(3, 3)));
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    var scores = (x + positions).masked_fill(get_buffer("causal") == 0, 0f);
                    return head.forward(scores * weight);
                }
            }
            """;
        const string schema = "model: Norm\nversion: 1\ninputs:\n  x:\n    axes: [batch, 3, features]\n    features: [a, b, c, d]\n";
        var result = ModelSource.Read(source, "Norm", schema);
        var graph = result.Graph!;
        Assert.True(graph is not null, string.Join("\n", ModelSource.Diagnostics(result)));
        Assert.Equal("NS1002", Assert.Single(result.Diagnostics).Id); // masked_fill read as the identity

        // TorchSharp's order: the module's own Parameters, its children's, then every buffer.
        Assert.Equal(new[] { "weight [4]", "positions [3, 4]", "head.weight [2, 4]", "head.bias [2]", "causal [3, 3]" }, ModelSource.StateDict(graph));
        Assert.Equal(new TensorSpec(new[] { 4L }.ToEquatableArray(), Init: TensorInit.Ones), graph.FindModule("weight")!.Spec);
        Assert.True(((TensorSpec)graph.FindModule("causal")!.Spec).IsBuffer);

        // weight[j] meets feature j only; positions[t, j] likewise; the buffer is not read.
        var map = StructuredTracer.Trace(graph, FeatureSpace.Bind(graph, ModelSource.Schema(schema)));
        Assert.Equal(FeatureSet.Of(2), map.Parameters["weight"].FeaturesAt([2]));
        Assert.Equal(FeatureSet.Of(1), map.Parameters["positions"].FeaturesAt([2, 1]));
        Assert.Equal(FeatureSet.Empty, map.Parameters["causal"].FeaturesAt([1, 1]));
    }

    [Fact]
    public void A_tensor_field_used_by_an_op_without_a_mirror_rule_for_it_is_refused()
    {
        const string source = """
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Parameter table = Parameter(torch.zeros(4, 4));

                public M() : base("m") => RegisterComponents();

                public override Tensor forward(Tensor x) => x + table.transpose(0, 1);
            }
            """;
        var result = ModelSource.Read(source, "M", "model: M\nversion: 1\ninputs:\n  x:\n    axes: [batch, 4, features]\n    features: [a, b, c, d]\n");

        Assert.Null(result.Graph);
        Assert.Contains(result.Diagnostics, d => d.Id == "NS1007" && d.Message.Contains("is tensor field 'table'; the mirror follows a Parameter or buffer only as an operand of +, -, * or a matmul with a 2-D tensor", System.StringComparison.Ordinal));
    }

    [Fact]
    public void Initial_states_made_in_forward_with_zeros_read_as_constant_tensors()
    {
        const string source = """
            public sealed class Tracker : Module<Tensor, Tensor>
            {
                private readonly LSTM lstm = LSTM(3, 8, batchFirst: true);
                private readonly Linear head = Linear(8, 2);

                public Tracker() : base("tracker") => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var h0 = torch.zeros(1, x.shape[0], 8);
                    var c0 = torch.zeros(new long[] { 1, x.shape[0], 8 });
                    var (y, _, _) = lstm.forward(x, (h0, c0));
                    return head.forward(y.mean(new long[] { 1 }));
                }
            }
            """;
        var graph = ModelSource.Graph(ModelSource.Read(source, "Tracker", "model: Tracker\nversion: 1\ninputs:\n  x:\n    axes: [batch, time, features]\n    features: [a, b, c]\n"));

        Assert.Equal(2, graph.Nodes.Count(n => n.Op is FillOp { Value: 0 }));
        Assert.Equal("[1, B, 8]", graph.Nodes.First(n => n.Op is FillOp).OutputShapes[0].ToString());
    }

    [Fact]
    public void Nested_loops_cannot_make_the_build_run_away()
    {
        const string source = """
            public sealed class Huge : Module<Tensor, Tensor>
            {
                private readonly Module<Tensor, Tensor> layers;

                public Huge() : base("huge")
                {
                    var modules = new List<Module<Tensor, Tensor>>();
                    for (var i = 0; i < 4000; i++)
                    {
                        for (var j = 0; j < 4000; j++)
                        {
                            modules.Add(Identity());
                        }
                    }

                    layers = Sequential(modules);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    for (var i = 0; i < 100; i++)
                    {
                        for (var j = 0; j < 100; j++)
                        {
                            x = x + x;
                        }
                    }

                    return layers.forward(x);
                }
            }
            """;
        var result = ModelSource.Read("using System.Collections.Generic;\n" + source, "Huge", "model: Huge\nversion: 1\ninputs:\n  x:\n    features: [a, b]\n");

        Assert.Null(result.Graph);
        var messages = ModelSource.Diagnostics(result);
        Assert.Contains(messages, m => m.StartsWith("NS1001 (18,17)", System.StringComparison.Ordinal) && m.Contains("the reader runs at most 200000 statements of constructor code per model", System.StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("the reader unrolls at most 4096 loop iterations in forward, nested loops together", System.StringComparison.Ordinal));
    }
}
