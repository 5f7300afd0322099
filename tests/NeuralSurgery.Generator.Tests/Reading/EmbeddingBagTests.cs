using System.Linq;
using NeuralSurgery.Graph;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>
/// EmbeddingBag as people write it (the TorchSharp text classification example): a flat index input declared
/// 'categorical' with its one axis named, the offsets a forward parameter without a schema entry; 2-D bags without
/// offsets; and what the mirror does not follow refused at the call.
/// </summary>
public class EmbeddingBagTests
{
    private const string Classifier = """
        public sealed class TextNet : Module<Tensor, Tensor, Tensor>
        {
            private readonly TorchSharp.Modules.EmbeddingBag bag = EmbeddingBag(5, 8, mode: EmbeddingBagMode.Sum);
            private readonly TorchSharp.Modules.Linear head = Linear(8, 3);

            public TextNet() : base("text") => RegisterComponents();

            public override Tensor forward(Tensor tokens, Tensor offsets) => head.forward(bag.call(tokens, offsets));
        }
        """;

    private const string Schema = """
        model: TextNet
        version: 1
        inputs:
          tokens:
            categorical: [pad, the, a, of, cat]
            axes: [tokens]
        outputs:
          topic:
            features: [world, sports, science]
        """;

    [Fact]
    public void A_flat_token_input_with_offsets_reads_as_an_embedding_bag()
    {
        var graph = ModelSource.Graph(ModelSource.Read(Classifier, "TextNet", Schema));

        Assert.Equal(new[] { "tokens Categorical [tokens]", "offsets Offsets [B]" }, ModelSource.Inputs(graph));
        Assert.Equal(new EmbeddingSpec(5, 8, new BagReduction(BagReduction.Sum)), graph.FindModule("bag")!.Spec);
        Assert.Equal(new[] { "bag.weight [5, 8]", "head.weight [3, 8]", "head.bias [3]" }, ModelSource.StateDict(graph));
        Assert.Equal(Shape.Of(Dim.Batch, 3), graph.ShapeOf(graph.Outputs[0].Value));

        // Each vocabulary word owns its row of the table, and every head weight sees the whole vocabulary.
        var features = FeatureSpace.Bind(graph, ModelSource.Schema(Schema));
        var map = StructuredTracer.Trace(graph, features);
        Assert.Equal(FeatureSet.Of(3), map.Parameters["bag.weight"].FeaturesAt([3, 5]));
        Assert.Equal(FeatureSet.Of(0, 1, 2, 3, 4), map.Parameters["head.weight"].FeaturesAt([1, 2]));
        Assert.Equal(ReferenceTracer.Trace(graph, features).Parameters["head.weight"], map.Parameters["head.weight"].Expand());
    }

    [Fact]
    public void Bags_as_rows_of_a_set_input_need_no_offsets()
    {
        var source = Classifier
            .Replace("Module<Tensor, Tensor, Tensor>", "Module<Tensor, Tensor>")
            .Replace("forward(Tensor tokens, Tensor offsets) => head.forward(bag.call(tokens, offsets))", "forward(Tensor tokens) => head.forward(bag.call(tokens))")
            .Replace("mode: EmbeddingBagMode.Sum", "mode: EmbeddingBagMode.Max");
        var graph = ModelSource.Graph(ModelSource.Read(source, "TextNet", Schema.Replace("axes: [tokens]", "set: true")));

        Assert.Equal(new[] { "tokens Categorical [B, N]" }, ModelSource.Inputs(graph));
        Assert.Equal(new EmbeddingSpec(5, 8, new BagReduction(BagReduction.Max)), graph.FindModule("bag")!.Spec);
        Assert.Equal(Shape.Of(Dim.Batch, 3), graph.ShapeOf(graph.Outputs[0].Value));
    }

    [Fact]
    public void Include_last_offset_makes_one_bag_fewer_than_offsets()
    {
        var source = Classifier.Replace("mode: EmbeddingBagMode.Sum", "include_last_offset: true");
        var graph = ModelSource.Graph(ModelSource.Read(source, "TextNet", Schema));

        Assert.Equal(new EmbeddingSpec(5, 8, new BagReduction(BagReduction.Mean, IncludeLastOffset: true)), graph.FindModule("bag")!.Spec);
        Assert.Equal(Shape.Of(Dim.Batch - Dim.Of(1), 3), graph.ShapeOf(graph.Outputs[0].Value));
    }

    [Theory]
    [InlineData("EmbeddingBag(5, 8, mode: EmbeddingBagMode.Sum)", "bag.call(tokens, offsets, offsets)", "per-sample weights are not followed")]
    [InlineData("EmbeddingBag(5, 8, padding_index: 0)", "bag.call(tokens, offsets)", "without padding_index or max_norm")]
    [InlineData("EmbeddingBag(5, 8, max_norm: 1.0)", "bag.call(tokens, offsets)", "without padding_index or max_norm")]
    [InlineData("EmbeddingBag(5, 8)", "bag.call(tokens, offsets.cumsum(0))", "the offsets must be a forward parameter of their own")]
    public void What_the_mirror_does_not_follow_is_refused_at_the_call(string factory, string call, string expected)
    {
        var source = Classifier.Replace("EmbeddingBag(5, 8, mode: EmbeddingBagMode.Sum)", factory).Replace("bag.call(tokens, offsets)", call);
        var result = ModelSource.Read(source, "TextNet", Schema);

        Assert.Null(result.Graph);
        var message = Assert.Single(ModelSource.Diagnostics(result), d => d.StartsWith("NS1001", System.StringComparison.Ordinal));
        Assert.Contains(expected, message, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Token_ids_declared_as_features_are_refused_with_the_schema_named()
    {
        var result = ModelSource.Read(Classifier, "TextNet", Schema.Replace("categorical: [pad, the, a, of, cat]\n    axes: [tokens]", "features: [pad, the, a, of, cat]"));

        Assert.Null(result.Graph);
        Assert.Contains(ModelSource.Diagnostics(result), d => d.Contains("EmbeddingBag 'bag' reads 'tokens', which is not a categorical input", System.StringComparison.Ordinal));
    }
}
