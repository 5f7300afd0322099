using NeuralSurgery.Graph;

namespace NeuralSurgery.Tests.Graph;

public class BuilderCallTests
{
    [Fact]
    public void Calling_an_embedding_module_on_a_dense_input_fails_at_the_call()
    {
        var b = new GraphBuilder("M");
        var x = b.FeatureInput("x", Dim.Batch, 4);
        b.Module("emb", new EmbeddingSpec(4, 2));
        var e = Assert.Throws<GraphException>(() => b.Call("emb", x));
        Assert.Equal("node 'emb' (Embedding 'emb'): operand must be a categorical input or an arange of positions; the mirror reads embeddings as products with a one-hot input", e.Message);
    }
}
