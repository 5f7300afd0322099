namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>Constructs of forward and the nodes they become.</summary>
public class ForwardReadingTests
{
    private const string X4 = """
        model: M
        version: 1
        inputs:
          x:
            features: [a, b, c, d]
        """;

    private const string XY = """
        model: M
        version: 1
        inputs:
          x:
            features: [a, b, c, d]
          y:
            features: [e, f, g, h]
        """;

    private static Graph.ModelGraph Read(string members, string yaml = X4, string signature = "Module<Tensor, Tensor>") =>
        ModelSource.Graph(ModelSource.Read($$"""
            public sealed class M : {{signature}}
            {
                public M() : base("M") => RegisterComponents();

            {{members}}
            }
            """, "M", yaml));

    [Fact]
    public void Locals_reassignment_call_and_every_activation_form()
    {
        var g = Read("""
                private readonly Linear fc = Linear(4, 4);

                public override Tensor forward(Tensor x)
                {
                    Tensor h = fc.call(x);
                    h = functional.tanh(h);
                    h = torch.sigmoid(h).relu();
                    var y = functional.gelu(h.tanh());
                    x = functional.softmax(y, 1);
                    return functional.log_softmax(functional.dropout(x, 0.1, training), -1);
                }
            """);
        Assert.Equal(
            new[]
            {
                "fc = call fc(x) -> [B, 4]",
                "tanh = tanh(fc) -> [B, 4]",
                "sigmoid = sigmoid(tanh) -> [B, 4]",
                "relu = relu(sigmoid) -> [B, 4]",
                "tanh_1 = tanh(relu) -> [B, 4]",
                "gelu = gelu(tanh_1) -> [B, 4]",
                "softmax = softmax 1(gelu) -> [B, 4]",
                "dropout = dropout 0.1(softmax) -> [B, 4]",
                "log_softmax = log_softmax 1(dropout) -> [B, 4]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void Concat_stack_and_index_accept_collection_expressions_and_arrays()
    {
        var g = Read("""
                public override Tensor forward(Tensor x, Tensor y)
                {
                    var both = torch.cat(new[] { x, y }, dim: 1);
                    var pair = torch.stack([x, y], 0);
                    var again = torch.concat(new Tensor[] { pair[0], pair[1] }, -1);
                    return torch.concatenate([both, again], 1);
                }
            """, XY, "Module<Tensor, Tensor, Tensor>");
        Assert.Equal(
            new[]
            {
                "cat = concat 1(x, y) -> [B, 8]",
                "stack = stack 0(x, y) -> [2, B, 4]",
                "narrow = narrow 0 0 1(stack) -> [1, B, 4]",
                "squeeze = squeeze 0(narrow) -> [B, 4]",
                "narrow_1 = narrow 0 1 1(stack) -> [1, B, 4]",
                "squeeze_1 = squeeze 0(narrow_1) -> [B, 4]",
                "cat_1 = concat 1(squeeze, squeeze_1) -> [B, 8]",
                "cat_2 = concat 1(cat, cat_1) -> [B, 16]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void Operators_broadcast_and_compound_assignment_adds()
    {
        var g = Read("""
                private readonly Linear fc = Linear(4, 4);

                public override Tensor forward(Tensor x, Tensor y)
                {
                    var h = fc.forward(x) + y;
                    h -= x * y;
                    return h - x.unsqueeze(1).max(1).values;
                }
            """, XY, "Module<Tensor, Tensor, Tensor>");
        Assert.Equal(
            new[]
            {
                "fc = call fc(x) -> [B, 4]",
                "add = add(fc, y) -> [B, 4]",
                "mul = mul(x, y) -> [B, 4]",
                "sub = sub(add, mul) -> [B, 4]",
                "unsqueeze = unsqueeze 1(x) -> [B, 1, 4]",
                "max = max 1(unsqueeze) -> [B, 4]",
                "sub_1 = sub(sub, max) -> [B, 4]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void Reductions_over_one_or_several_dimensions_with_keepdim()
    {
        var g = Read("""
                public override Tensor forward(Tensor x)
                {
                    var h = x.unsqueeze(1).unsqueeze(2);
                    var a = h.mean(new long[] { 1, 2 });
                    var b = torch.mean(h, [-1], keepdim: true).sum(2).sum([1]);
                    var c = torch.sum(x.unsqueeze(0), 0, keepdim: false);
                    return a + b + c;
                }
            """);
        Assert.Equal(
            new[]
            {
                "unsqueeze = unsqueeze 1(x) -> [B, 1, 4]",
                "unsqueeze_1 = unsqueeze 2(unsqueeze) -> [B, 1, 1, 4]",
                "mean = mean 2(unsqueeze_1) -> [B, 1, 4]",
                "mean_1 = mean 1(mean) -> [B, 4]",
                "mean_2 = mean 3 keep(unsqueeze_1) -> [B, 1, 1, 1]",
                "sum = sum 2(mean_2) -> [B, 1, 1]",
                "sum_1 = sum 1(sum) -> [B, 1]",
                "unsqueeze_2 = unsqueeze 0(x) -> [1, B, 4]",
                "sum_2 = sum 0(unsqueeze_2) -> [B, 4]",
                "add = add(mean_1, sum_1) -> [B, 4]",
                "add_1 = add(add, sum_2) -> [B, 4]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void Shape_operations_take_sizes_read_off_shapes()
    {
        var g = Read("""
                private const long Half = 2;

                public override Tensor forward(Tensor x)
                {
                    var batch = x.shape[0];
                    var h = x.view(batch, Half, -1);
                    h = h.transpose(1, 2).reshape(x.size(0), 2 * Half);
                    h = h.view(-1, Half, Half).flatten(1);
                    h = torch.narrow(h, 1, 1, 3).narrow(-1, 0, 2);
                    return h.contiguous();
                }
            """);
        Assert.Equal(
            new[]
            {
                "reshape = reshape [B, 2, -1](x) -> [B, 2, 2]",
                "transpose = transpose 1 2(reshape) -> [B, 2, 2]",
                "reshape_1 = reshape [B, 4](transpose) -> [B, 4]",
                "reshape_2 = reshape [-1, 2, 2](reshape_1) -> [B, 2, 2]",
                "flatten = flatten 1..2(reshape_2) -> [B, 4]",
                "narrow = narrow 1 1 3(flatten) -> [B, 3]",
                "narrow_1 = narrow 1 0 2(narrow) -> [B, 2]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void Slicing_with_TensorIndex_applies_leading_and_trailing_indices()
    {
        var g = Read("""
                public override Tensor forward(Tensor x)
                {
                    var h = x.unsqueeze(1);
                    var a = h[TensorIndex.Ellipsis, TensorIndex.Slice(1, 3)];
                    var b = h[TensorIndex.Colon, 0, TensorIndex.Slice(-2)];
                    var c = h[TensorIndex.Slice(), TensorIndex.Single(0), TensorIndex.Slice(0, 4, 2)];
                    return torch.cat([a.squeeze(1), b, c], 1);
                }
            """);
        Assert.Equal(
            new[]
            {
                "unsqueeze = unsqueeze 1(x) -> [B, 1, 4]",
                "slice = slice 2 1:3:1(unsqueeze) -> [B, 1, 2]",
                "slice_1 = slice 2 2:4:1(unsqueeze) -> [B, 1, 2]",
                "narrow = narrow 1 0 1(slice_1) -> [B, 1, 2]",
                "squeeze = squeeze 1(narrow) -> [B, 2]",
                "slice_2 = slice 2 0:4:2(unsqueeze) -> [B, 1, 2]",
                "narrow_1 = narrow 1 0 1(slice_2) -> [B, 1, 2]",
                "squeeze_1 = squeeze 1(narrow_1) -> [B, 2]",
                "squeeze_2 = squeeze 1(slice) -> [B, 2]",
                "cat = concat 1(squeeze_2, squeeze, squeeze_1) -> [B, 6]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void Helper_methods_and_dispose_scopes_are_followed()
    {
        var g = Read("""
                private readonly Linear fc = Linear(4, 4);

                private Tensor Encode(Tensor t, long axis) => fc.forward(t).relu().unsqueeze(axis);

                private static Tensor Twice(Tensor t) => t + t;

                public override Tensor forward(Tensor x)
                {
                    using (var scope = torch.NewDisposeScope())
                    {
                        var h = Twice(Encode(x, 1)).squeeze(1);
                        return h.MoveToOuterDisposeScope();
                    }
                }
            """);
        Assert.Equal(
            new[]
            {
                "fc = call fc(x) -> [B, 4]",
                "relu = relu(fc) -> [B, 4]",
                "unsqueeze = unsqueeze 1(relu) -> [B, 1, 4]",
                "add = add(unsqueeze, unsqueeze) -> [B, 1, 4]",
                "squeeze = squeeze 1(add) -> [B, 4]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void A_GRU_takes_its_state_input_shape_from_the_layer_it_feeds()
    {
        var g = Read("""
                private readonly GRU gru = GRU(4, 6, numLayers: 2, batchFirst: true);

                public override (Tensor, Tensor) forward(Tensor x, Tensor hidden)
                {
                    var (sequence, state) = gru.call(x.unsqueeze(1), hidden);
                    return (sequence.squeeze(1), state);
                }
            """, X4, "Module<Tensor, Tensor, (Tensor, Tensor)>");
        Assert.Equal(new[] { "x Features [B, 4]", "hidden State [2, B, 6]" }, ModelSource.Inputs(g));
        Assert.Equal(
            new[]
            {
                "unsqueeze = unsqueeze 1(x) -> [B, 1, 4]",
                "gru = call gru(unsqueeze, hidden) -> [B, 1, 6], [2, B, 6]",
                "squeeze = squeeze 1(gru) -> [B, 6]",
            },
            ModelSource.Nodes(g));
        Assert.Equal(new[] { "output0 = squeeze (state)", "state = gru:1 (state)" }, ModelSource.Outputs(g));
    }

    [Fact]
    public void A_state_feeding_a_second_LSTM_is_learnt_after_the_first()
    {
        var g = Read("""
                private readonly LSTM first = LSTM(4, 3);
                private readonly LSTM second = LSTM(3, 2, numLayers: 2);

                public override (Tensor, Tensor, Tensor, Tensor, Tensor) forward(Tensor x, Tensor h1, Tensor c1, Tensor h2, Tensor c2)
                {
                    var result = first.forward(x.unsqueeze(0), (h1, c1));
                    var (y, h, c) = second.forward(result.Item1, (h2, c2));
                    return (y.squeeze(0), result.Item2, result.Item3, h, c);
                }
            """, X4, "Module<Tensor, Tensor, Tensor, Tensor, Tensor, (Tensor, Tensor, Tensor, Tensor, Tensor)>");
        Assert.Equal(
            new[] { "x Features [B, 4]", "h1 State [1, B, 3]", "c1 State [1, B, 3]", "h2 State [2, B, 2]", "c2 State [2, B, 2]" },
            ModelSource.Inputs(g));
        Assert.Equal(
            new[] { "output0 = squeeze (state)", "output1 = first:1 (state)", "output2 = first:2 (state)", "h = second:1 (state)", "c = second:2 (state)" },
            ModelSource.Outputs(g));
    }

    [Fact]
    public void Outputs_bind_by_name_when_a_returned_name_matches_the_schema()
    {
        var g = Read("""
                private readonly Linear policy = Linear(4, 3);
                private readonly Linear value = Linear(4, 1);

                public override (Tensor, Tensor) forward(Tensor x)
                {
                    var logits = policy.forward(x);
                    return (value: value.forward(x), logits);
                }
            """, X4 + """

            outputs:
              logits:
                features: [left, right, stay]
              value:
                features: [v]
            """, "Module<Tensor, (Tensor, Tensor)>");
        Assert.Equal(new[] { "value = value", "logits = policy" }, ModelSource.Outputs(g));
    }

    [Fact]
    public void Outputs_bind_by_position_otherwise_and_the_return_type_names_state_outputs()
    {
        var g = Read("""
                private readonly Linear policy = Linear(4, 3);

                public override (Tensor scores, Tensor features) forward(Tensor x) => (policy.forward(x), x);
            """, X4 + """

            outputs:
              logits:
                features: [left, right, stay]
            """, "Module<Tensor, (Tensor scores, Tensor features)>");
        Assert.Equal(new[] { "logits = policy", "features = x (state)" }, ModelSource.Outputs(g));
    }

    [Fact]
    public void Conv1d_BatchNorm1d_and_LayerNorm_calls()
    {
        var g = Read("""
                private readonly Conv1d conv = Conv1d(1, 3, kernel_size: 3, padding: 1);
                private readonly BatchNorm1d norm = BatchNorm1d(3);
                private readonly LayerNorm ln = LayerNorm(4);
                private readonly Flatten flat = Flatten();

                public override Tensor forward(Tensor x) => ln.forward(flat.forward(norm.forward(conv.forward(x.unsqueeze(1)))).view(-1, 3, 4)).sum(1);
            """);
        Assert.Equal(
            new[]
            {
                "unsqueeze = unsqueeze 1(x) -> [B, 1, 4]",
                "conv = call conv(unsqueeze) -> [B, 3, 4]",
                "norm = call norm(conv) -> [B, 3, 4]",
                "flatten = flatten 1..2(norm) -> [B, 12]",
                "reshape = reshape [-1, 3, 4](flatten) -> [B, 3, 4]",
                "ln = call ln(reshape) -> [B, 3, 4]",
                "sum = sum 1(ln) -> [B, 4]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void A_readonly_field_assigned_a_constructor_argument_is_a_size()
    {
        var g = ModelSource.Graph(ModelSource.Read("""
            public sealed class Split : Module<Tensor, Tensor>
            {
                private readonly long _parts;

                public Split(long parts) : base("Split")
                {
                    _parts = parts;
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => x.view(-1, _parts, 4 / _parts).sum(1);
            }

            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Split split = new Split(2);

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor x) => split.forward(x);
            }
            """, "M", X4));
        Assert.Equal(new[] { "reshape = reshape [-1, 2, 2](x) -> [B, 2, 2]", "sum = sum 1(reshape) -> [B, 2]" }, ModelSource.Nodes(g));
    }

    [Fact]
    public void Set_inputs_share_the_set_symbol_and_categorical_inputs_have_no_feature_axis()
    {
        var g = Read("""
                private readonly Embedding types = Embedding(3, 2);
                private readonly Linear unit = Linear(6, 5);

                public override Tensor forward(Tensor units, Tensor kind) => unit.forward(torch.cat([units, types.forward(kind)], -1)).sum(1);
            """, """
            model: M
            version: 1
            inputs:
              units:
                set: true
                features: [a, b, c, d]
              kind:
                set: true
                categorical: [creep, tower, hero]
            """, "Module<Tensor, Tensor, Tensor>");
        Assert.Equal(new[] { "units Features [B, N, 4]", "kind Categorical [B, N]" }, ModelSource.Inputs(g));
        Assert.Equal(
            new[]
            {
                "types = call types(kind) -> [B, N, 2]",
                "cat = concat 2(units, types) -> [B, N, 6]",
                "unit = call unit(cat) -> [B, N, 5]",
                "sum = sum 1(unit) -> [B, 5]",
            },
            ModelSource.Nodes(g));
    }

    [Fact]
    public void An_LSTM_without_an_initial_state_is_deconstructed_with_discards()
    {
        var g = Read("""
                private readonly LSTM lstm = LSTM(4, 3, batchFirst: true);

                public override Tensor forward(Tensor x)
                {
                    var (output, _, _) = lstm.forward(x.unsqueeze(1));
                    return output.sum(1);
                }
            """);
        Assert.Equal(
            new[]
            {
                "unsqueeze = unsqueeze 1(x) -> [B, 1, 4]",
                "lstm = call lstm(unsqueeze) -> [B, 1, 3], [1, B, 3], [1, B, 3]",
                "sum = sum 1(lstm) -> [B, 3]",
            },
            ModelSource.Nodes(g));
    }
}
