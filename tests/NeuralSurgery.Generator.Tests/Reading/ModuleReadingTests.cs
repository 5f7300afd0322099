using System.Linq;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>Modules read from fields: factory forms, constants, constructors, containers, nested modules, order.</summary>
public class ModuleReadingTests
{
    private const string X16 = """
        model: M
        version: 1
        inputs:
          x:
            features: [{ name: f, width: 16 }]
        """;

    private const string X4 = """
        model: M
        version: 1
        inputs:
          x:
            features: [a, b, c, d]
        """;

    [Fact]
    public void Factories_are_recognised_by_symbol_in_every_spelling_with_named_arguments_and_defaults()
    {
        var g = ModelSource.Graph(ModelSource.Read("""
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Module<Tensor, Tensor> a = Linear(16, 8);
                private readonly Module<Tensor, Tensor> b = nn.Linear(outputSize: 8, inputSize: 8, hasBias: false);
                private readonly Module<Tensor, Tensor> c = torch.nn.Linear(8, 4, false);
                private readonly Module<Tensor, Tensor> d = TorchSharp.torch.nn.Linear(4, 2);

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor x) => d.forward(c.forward(b.forward(a.forward(x))));
            }
            """, "M", X16));
        Assert.Equal(
            new[] { "a.weight [8, 16]", "a.bias [8]", "b.weight [8, 8]", "c.weight [4, 8]", "d.weight [2, 4]", "d.bias [2]" },
            ModelSource.StateDict(g));
    }

    [Fact]
    public void A_user_method_named_like_a_factory_is_not_a_factory()
    {
        var r = ModelSource.Read("""
            public static class Layers
            {
                public static Module<Tensor, Tensor> Linear(long a, long b) => TorchSharp.torch.nn.Linear(a, b);
            }

            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Module<Tensor, Tensor> a = Layers.Linear(16, 8);

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor x) => a.forward(x);
            }
            """, "M", X16);
        Assert.Null(r.Graph);
        Assert.Equal(
            new[] { "NS1001 (13,49): Unsupported module initialiser 'Layers.Linear(16, 8)' in M constructor: a module field must hold a torch.nn factory call (Linear(...), Sequential(...), ...) or 'new' of a module class; the model graph is not built" },
            ModelSource.Diagnostics(r));
    }

    [Fact]
    public void Sizes_may_be_literals_const_fields_const_locals_and_arithmetic_of_them()
    {
        var g = ModelSource.Graph(ModelSource.Read("""
            public static class Sizes
            {
                public const int Hidden = 12;
            }

            public sealed class M : Module<Tensor, Tensor>
            {
                private const long In = 16;
                private readonly Linear fc1 = Linear(In, Sizes.Hidden * 2 + 1);
                private readonly Linear fc2;

                public M() : base("M")
                {
                    const long Out = (Sizes.Hidden - 2) / 5;
                    fc2 = Linear(Sizes.Hidden * 2 + 1, Out);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => fc2.forward(fc1.forward(x));
            }
            """, "M", X16));
        Assert.Equal(new[] { "fc1.weight [25, 16]", "fc1.bias [25]", "fc2.weight [2, 25]", "fc2.bias [2]" }, ModelSource.StateDict(g));
    }

    [Fact]
    public void Constructor_assignments_override_initialisers_and_registration_follows_field_order()
    {
        var g = ModelSource.Graph(ModelSource.Read("""
            public sealed class M : Module<Tensor, Tensor>
            {
                private Linear second = Linear(4, 4);
                private Linear first;

                public M() : base("M")
                {
                    first = Linear(4, 6);
                    this.second = Linear(6, 2);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => second.forward(first.forward(x));
            }
            """, "M", X4));
        Assert.Equal(new[] { "second.weight [2, 6]", "second.bias [2]", "first.weight [6, 4]", "first.bias [6]" }, ModelSource.StateDict(g));
        Assert.Equal(new[] { "first = call first(x) -> [B, 6]", "second = call second(first) -> [B, 2]" }, ModelSource.Nodes(g));
    }

    [Fact]
    public void A_constructor_chained_with_this_binds_its_constant_arguments()
    {
        var g = ModelSource.Graph(ModelSource.Read("""
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Linear fc;

                public M() : this(4, 3)
                {
                }

                private M(long inputs, long outputs) : base("M")
                {
                    fc = Linear(inputs, outputs);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """, "M", X4));
        Assert.Equal(new[] { "fc.weight [3, 4]", "fc.bias [3]" }, ModelSource.StateDict(g));
    }

    [Fact]
    public void Sequential_children_are_named_by_position_counting_parameterless_layers()
    {
        var g = ModelSource.Graph(ModelSource.Read("""
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Sequential body = Sequential(Linear(4, 8), ReLU(), Dropout(0.25), Linear(8, 8), Tanh(), Identity(), Linear(8, 2), Sigmoid(), GELU());

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor x) => body.forward(x);
            }
            """, "M", X4));
        Assert.Equal(
            new[] { "body.0.weight [8, 4]", "body.0.bias [8]", "body.3.weight [8, 8]", "body.3.bias [8]", "body.6.weight [2, 8]", "body.6.bias [2]" },
            ModelSource.StateDict(g));
        Assert.Equal(
            new[]
            {
                "body_0 = call body.0(x) -> [B, 8]",
                "relu = relu(body_0) -> [B, 8]",
                "dropout = dropout 0.25(relu) -> [B, 8]",
                "body_3 = call body.3(dropout) -> [B, 8]",
                "tanh = tanh(body_3) -> [B, 8]",
                "body_6 = call body.6(tanh) -> [B, 2]",
                "sigmoid = sigmoid(body_6) -> [B, 2]",
                "gelu = gelu(sigmoid) -> [B, 2]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void Sequential_children_are_named_by_their_tuple_names_and_may_be_passed_as_an_array()
    {
        var g = ModelSource.Graph(ModelSource.Read("""
            public sealed class M : Module<Tensor, Tensor>
            {
                private const string Out = "out";
                private readonly Sequential named = Sequential(("fc", Linear(4, 8)), ("act", ReLU()), (Out, Linear(8, 3)));
                private readonly Sequential array = Sequential(new Module<Tensor, Tensor>[] { Linear(3, 3), Flatten() });

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor x) => array.call(named.call(x));
            }
            """, "M", X4));
        Assert.Equal(
            new[] { "named.fc.weight [8, 4]", "named.fc.bias [8]", "named.out.weight [3, 8]", "named.out.bias [3]", "array.0.weight [3, 3]", "array.0.bias [3]" },
            ModelSource.StateDict(g));
        Assert.Equal(
            new[]
            {
                "named_fc = call named.fc(x) -> [B, 8]",
                "relu = relu(named_fc) -> [B, 8]",
                "named_out = call named.out(relu) -> [B, 3]",
                "array_0 = call array.0(named_out) -> [B, 3]",
                "flatten = flatten 1..1(array_0) -> [B, 3]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void Nested_user_modules_are_read_recursively_with_constant_constructor_arguments_and_component_names()
    {
        var g = ModelSource.Graph(ModelSource.Read("""
            public sealed class Block : Module<Tensor, Tensor>
            {
                private readonly Linear fc;
                private readonly LayerNorm norm;

                public Block(long inputs, long outputs = 8) : base(nameof(Block))
                {
                    fc = Linear(inputs, outputs);
                    norm = LayerNorm(outputs);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => norm.forward(fc.forward(x)).relu();
            }

            public sealed class M : Module<Tensor, Tensor>
            {
                private const long Width = 4;
                [TorchSharp.Utils.ComponentName(Name = "encoder")]
                private readonly Block first = new Block(Width);
                private readonly Sequential rest = Sequential(new Block(8, 6), new Block(6, outputs: 2));

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor x) => rest.forward(first.forward(x));
            }
            """, "M", X4));
        Assert.Equal(
            new[]
            {
                "encoder.fc.weight [8, 4]", "encoder.fc.bias [8]", "encoder.norm.weight [8]", "encoder.norm.bias [8]",
                "rest.0.fc.weight [6, 8]", "rest.0.fc.bias [6]", "rest.0.norm.weight [6]", "rest.0.norm.bias [6]",
                "rest.1.fc.weight [2, 6]", "rest.1.fc.bias [2]", "rest.1.norm.weight [2]", "rest.1.norm.bias [2]",
            },
            ModelSource.StateDict(g));
        Assert.Equal(
            new[]
            {
                "encoder_fc = call encoder.fc(x) -> [B, 8]",
                "encoder_norm = call encoder.norm(encoder_fc) -> [B, 8]",
                "relu = relu(encoder_norm) -> [B, 8]",
                "rest_0_fc = call rest.0.fc(relu) -> [B, 6]",
                "rest_0_norm = call rest.0.norm(rest_0_fc) -> [B, 6]",
                "relu_1 = relu(rest_0_norm) -> [B, 6]",
                "rest_1_fc = call rest.1.fc(relu_1) -> [B, 2]",
                "rest_1_norm = call rest.1.norm(rest_1_fc) -> [B, 2]",
                "relu_2 = relu(rest_1_norm) -> [B, 2]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void Fields_of_the_derived_class_register_before_those_of_a_user_base_class()
    {
        var g = ModelSource.Graph(ModelSource.Read("""
            public abstract class Base : Module<Tensor, Tensor>
            {
                protected readonly Linear head;

                protected Base(long hidden) : base("Base") => head = Linear(hidden, 2);
            }

            public sealed class M : Base
            {
                private readonly Linear body = Linear(4, 6);

                public M() : base(6) => RegisterComponents();

                public override Tensor forward(Tensor x) => head.forward(body.forward(x));
            }
            """, "M", X4));
        Assert.Equal(new[] { "body.weight [6, 4]", "body.bias [6]", "head.weight [2, 6]", "head.bias [2]" }, ModelSource.StateDict(g));
    }

    [Fact]
    public void A_module_list_is_indexed_and_enumerated_with_children_named_by_position()
    {
        var g = ModelSource.Graph(ModelSource.Read("""
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly ModuleList<Module<Tensor, Tensor>> layers = ModuleList<Module<Tensor, Tensor>>(Linear(4, 4), ReLU(), Linear(4, 4));
                private readonly Linear head = Linear(4, 2);

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    foreach (var layer in layers)
                    {
                        x = layer.forward(x);
                    }

                    return head.forward(layers[2].forward(x));
                }
            }
            """, "M", X4));
        Assert.Equal(
            new[] { "layers.0.weight [4, 4]", "layers.0.bias [4]", "layers.2.weight [4, 4]", "layers.2.bias [4]", "head.weight [2, 4]", "head.bias [2]" },
            ModelSource.StateDict(g));
        Assert.Equal(
            new[]
            {
                "layers_0 = call layers.0(x) -> [B, 4]",
                "relu = relu(layers_0) -> [B, 4]",
                "layers_2 = call layers.2(relu) -> [B, 4]",
                "layers_2_1 = call layers.2(layers_2) -> [B, 4]",
                "head = call head(layers_2_1) -> [B, 2]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void Parameters_come_before_buffers_and_modules_forward_never_calls_are_registered()
    {
        var g = ModelSource.Graph(ModelSource.Read("""
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly BatchNorm1d norm = BatchNorm1d(4, momentum: 0.2);
                private readonly Linear fc = Linear(4, 2);
                private readonly Linear spare = Linear(2, 2, hasBias: false);

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor x) => fc.forward(norm.forward(x));
            }
            """, "M", X4));
        Assert.Equal(
            new[]
            {
                "norm.weight [4]", "norm.bias [4]", "fc.weight [2, 4]", "fc.bias [2]", "spare.weight [2, 2]",
                "norm.running_mean [4]", "norm.running_var [4]", "norm.num_batches_tracked []",
            },
            ModelSource.StateDict(g));
        Assert.Equal(new Graph.BatchNorm1dSpec(4, 1e-5, 0.2), g.FindModule("norm")!.Spec);
    }

    [Fact]
    public void Recurrent_and_convolution_options_are_read_from_named_arguments()
    {
        var r = ModelSource.Read("""
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Conv1d conv = Conv1d(4, 6, 3, padding: 1, groups: 2, bias: false);
                private readonly LSTM lstm = LSTM(6, 5, numLayers: 2, batchFirst: true, bidirectional: true);
                private readonly GRU gru = GRU(10, 3, bias: false);
                private readonly Embedding embedding = Embedding(7, 3, padding_idx: 0);
                private readonly LayerNorm norm = LayerNorm(new long[] { 2, 3 }, eps: 1e-3, elementwise_affine: true, bias: false);

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor x) => x;
            }
            """, "M", X4);
        Assert.Equal(
            new Graph.LayerSpec[]
            {
                new Graph.Conv1dSpec(4, 6, 3, Padding: 1, Groups: 2, Bias: false),
                new Graph.RecurrentSpec(Graph.RecurrentKind.Lstm, 6, 5, 2, Bias: true, BatchFirst: true, Bidirectional: true),
                new Graph.RecurrentSpec(Graph.RecurrentKind.Gru, 10, 3, 1, Bias: false),
                new Graph.EmbeddingSpec(7, 3),
                new Graph.LayerNormSpec(Collections.EquatableArray.Create(2L, 3L), 1e-3, true, false),
            },
            r.Modules.Select(m => m.Spec).ToArray());
        Assert.Equal(new[] { "conv", "lstm", "gru", "embedding", "norm" }, r.Modules.Select(m => m.Path).ToArray());
        var g = ModelSource.Graph(r);
        Assert.Contains("lstm.weight_ih_l1_reverse [20, 10]", ModelSource.StateDict(g));
        Assert.Equal(new[] { "x = x" }, ModelSource.Outputs(g).Select(o => o.Replace(" (state)", string.Empty)).ToArray());
    }
}
