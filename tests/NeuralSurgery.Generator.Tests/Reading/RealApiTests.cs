using System.Linq;


namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>
/// The reader on TorchSharp 0.107's real signatures, where they differ from what one might guess (each case was
/// read wrongly, two of them silently, against the signature-only copy of the API these tests once compiled against).
/// </summary>
public class RealApiTests
{
    private const string X4 = """
        model: M
        version: 1
        inputs:
          x:
            set: true
            features: [a, b, c, d]
        """;

    private static global::NeuralSurgery.Generator.Reading.ModelReadResult Read(string members) =>
        ModelSource.Read($$"""
            public sealed class M : Module<Tensor, Tensor>
            {
                public M() : base("M") => RegisterComponents();

            {{members}}
            }
            """, "M", X4);

    [Fact]
    public void Mean_reduces_over_the_dimensions_parameter_and_keeps_the_batch()
    {
        // torch.mean(Tensor input, long[] dimensions, bool keepdim, ScalarType? type): not "dims".
        var g = ModelSource.Graph(Read("""
                public override Tensor forward(Tensor x) => torch.mean(x, [1]) + x.mean([1L]);
            """));
        Assert.Equal(["mean = mean 1(x) -> [B, 4]", "mean_1 = mean 1(x) -> [B, 4]", "add = add(mean, mean_1) -> [B, 4]"], ModelSource.Nodes(g));
    }

    [Fact]
    public void Sum_over_two_dimension_parameters_reduces_both()
    {
        // Tensor.sum(long dim0, long dim1, bool keepdim, ScalarType? type) has no "dim" parameter at all.
        var g = ModelSource.Graph(Read("""
                public override Tensor forward(Tensor x) => x.unsqueeze(2).sum(1, 2);
            """));
        Assert.Equal(["unsqueeze = unsqueeze 2(x) -> [B, N, 1, 4]", "sum = sum 2(unsqueeze) -> [B, N, 4]", "sum_1 = sum 1(sum) -> [B, 4]"], ModelSource.Nodes(g));
    }

    [Fact]
    public void Concatenate_reads_its_axis_parameter()
    {
        // torch.concatenate(IList<Tensor> tensors, long axis): cat and concat call it "dim".
        var g = ModelSource.Graph(Read("""
                public override Tensor forward(Tensor x) => torch.concatenate([x, x], axis: -1) + torch.concatenate(new[] { x, x }, 2);
            """));
        Assert.Equal(["cat = concat 2(x, x) -> [B, N, 8]", "cat_1 = concat 2(x, x) -> [B, N, 8]", "add = add(cat, cat_1) -> [B, N, 8]"], ModelSource.Nodes(g));
    }

    [Fact]
    public void TensorIndex_static_fields_are_indices()
    {
        // TensorIndex.Colon, Ellipsis, None and Null are static fields in 0.107.
        var g = ModelSource.Graph(Read("""
                public override Tensor forward(Tensor x) => x[TensorIndex.Colon, TensorIndex.Ellipsis, TensorIndex.Slice(0, 2)] + x[TensorIndex.Ellipsis, TensorIndex.Slice(2, 4)];
            """));
        Assert.Equal(["slice = slice 2 0:2:1(x) -> [B, N, 2]", "slice_1 = slice 2 2:4:1(x) -> [B, N, 2]", "add = add(slice, slice_1) -> [B, N, 2]"], ModelSource.Nodes(g));
        // None/Null are recognised as new axes (which the reader does not take in an index and says so), not as
        // non-constant arguments.
        var none = Read("""
                public override Tensor forward(Tensor x) => x[TensorIndex.Ellipsis, TensorIndex.None] + x[TensorIndex.Ellipsis, TensorIndex.Null];
            """);
        Assert.Equal(2, none.Diagnostics.Count(d => d.Id == "NS1001" && d.Message.Contains("new axes in an index are not read; use unsqueeze", System.StringComparison.Ordinal)));
        Assert.DoesNotContain(none.Diagnostics, d => d.Id == "NS1003");
    }

    [Fact]
    public void ComponentName_from_TorchSharp_Utils_names_the_state_dict_key()
    {
        var g = ModelSource.Graph(Read("""
                [TorchSharp.Utils.ComponentName(Name = "encoder")]
                private readonly Linear fc = Linear(4, 3);

                public override Tensor forward(Tensor x) => fc.forward(x);
            """));
        Assert.Equal(["encoder.weight [3, 4]", "encoder.bias [3]"], ModelSource.StateDict(g));
    }

    [Fact]
    public void An_overload_the_reader_does_not_know_is_reported_never_read_as_every_axis()
    {
        // Tensor.max(Tensor other) is an elementwise maximum; reading it as max over every axis would drop the batch.
        var result = Read("""
                public override Tensor forward(Tensor x) => x.max(x).sum(1);
            """);
        Assert.Null(result.Graph);
        var diagnostic = Assert.Single(result.Diagnostics, d => d.Id == "NS1001");
        Assert.Contains("Tensor.max(other)", diagnostic.Message, System.StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_declared_in_namespace_TorchSharp_is_a_user_module_with_a_forward()
    {
        // TorchSharp's own examples and test models live in namespace TorchSharp; they are not library types.
        var result = ModelSource.Read("""
            namespace TorchSharp
            {
                public sealed class M : Module<Tensor, Tensor>
                {
                    private readonly Linear fc = Linear(4, 2);

                    public M() : base("M") => RegisterComponents();

                    public override Tensor forward(Tensor x) => fc.forward(x);
                }
            }
            """, "TorchSharp.M", X4);
        var g = ModelSource.Graph(result);
        Assert.Equal(["fc.weight [2, 4]", "fc.bias [2]"], ModelSource.StateDict(g));
    }

    [Fact]
    public void An_unsupported_statement_is_the_only_diagnostic_not_also_a_false_unused_parameter()
    {
        // The reader stops at the statement it cannot follow; 'y' is used after it, so NS1008 ("never used") would be false.
        var result = ModelSource.Read("""
            public sealed class M : Module<Tensor, Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 2);

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor x, Tensor y)
                {
                    var h = x;
                    while (h.shape[1] > 4)
                    {
                        h = h.narrow(1, 0, 4);
                    }

                    return fc.forward(h + y);
                }
            }
            """, "M", X4);
        Assert.Null(result.Graph);
        Assert.Contains(result.Diagnostics, d => d.Id == "NS1001");
        Assert.DoesNotContain(result.Diagnostics, d => d.Id == "NS1008");
    }

    [Fact]
    public void A_shape_error_on_a_schema_input_says_how_the_schema_would_give_it_a_sequence_axis()
    {
        // A time series [B, T, F] declared as a plain vector of features: the first op that needs the time axis fails.
        var result = ModelSource.Read("""
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Conv1d conv = Conv1d(3, 4, 1);

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor track) => conv.forward(track.transpose(1, 2));
            }
            """, "M", """
            model: M
            version: 1
            inputs:
              track:
                features: [x, y, speed]
            """);
        Assert.Null(result.Graph);
        var error = Assert.Single(result.Diagnostics, d => d.Id == "NS1007");
        Assert.Contains("'track' is shaped [B, features] by model.features.yaml", error.Message, System.StringComparison.Ordinal);
        Assert.Contains("add 'set: true' to the input there", error.Message, System.StringComparison.Ordinal);
    }

    [Fact]
    public void An_expression_nested_past_the_limit_is_NS1001_not_a_stack_overflow()
    {
        var chain = string.Concat(Enumerable.Repeat(".relu()", 2_000));
        var result = Read($$"""
                public override Tensor forward(Tensor x) => x{{chain}};
            """);
        Assert.Null(result.Graph);
        var error = Assert.Single(result.Diagnostics, d => d.Id == "NS1001");
        Assert.Contains("expressions nest more than 256 levels deep", error.Message, System.StringComparison.Ordinal);
    }
}
