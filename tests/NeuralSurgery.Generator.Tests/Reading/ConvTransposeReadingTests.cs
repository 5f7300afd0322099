using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Tracing;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>
/// ConvTranspose1d/2d as decoders and GAN generators write them: TorchSharp's weight layout [in, out/groups, k...],
/// output padding, tuples; grouped layers widen group by group; what the IR cannot say is refused at the factory.
/// </summary>
public class ConvTransposeReadingTests
{
    private const string Generator = """
        public sealed class Generator : Module<Tensor, Tensor>
        {
            private readonly Sequential net = Sequential(
                ConvTranspose2d(4, 6, 4, stride: 1, padding: 0),
                BatchNorm2d(6),
                ReLU(),
                ConvTranspose2d(6, 2, (3, 3), stride: (2, 2), padding: (1, 1), output_padding: (1, 1), groups: 2),
                Tanh());

            public Generator() : base("generator") => RegisterComponents();

            public override Tensor forward(Tensor latent) => net.forward(latent);
        }
        """;

    private const string Schema = """
        model: Generator
        version: 1
        inputs:
          latent:
            axes: [batch, features, 1, 1]
            features: [a, b, c, d]
        """;

    [Fact]
    public void A_DCGAN_style_generator_reads_with_TorchSharps_weight_layout()
    {
        var graph = ModelSource.Graph(ModelSource.Read(Generator, "Generator", Schema));

        // Parameters, then buffers.
        Assert.Equal(
            new[] { "net.0.weight [4, 6, 4, 4]", "net.0.bias [6]", "net.1.weight [6]", "net.1.bias [6]", "net.3.weight [6, 1, 3, 3]", "net.3.bias [2]", "net.1.running_mean [6]", "net.1.running_var [6]", "net.1.num_batches_tracked []" },
            ModelSource.StateDict(graph));
        Assert.Equal(new ConvTransposeSpec(2, 6, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2), graph.FindModule("net.3")!.Spec);

        // 1x1 → 4x4 → 8x8.
        Assert.Equal("[B, 2, 8, 8]", graph.ShapeOf(graph.Outputs[0].Value).ToString());

        // Every latent feature reaches every filter of the first layer through its own weight row; both tracers agree.
        var features = FeatureSpace.Bind(graph, ModelSource.Schema(Schema));
        var map = StructuredTracer.Trace(graph, features);
        Assert.Equal(FeatureSet.Of(2), map.Parameters["net.0.weight"].FeaturesAt([2, 5, 1, 3]));
        var reference = ReferenceTracer.Trace(graph, features);
        foreach (var p in graph.Parameters)
        {
            Assert.Equal(reference.Parameters[p.Name], map.Parameters[p.Name].Expand());
        }
    }

    [Fact]
    public void A_grouped_transposed_convolution_widens_group_by_group()
    {
        // 6 → 2 channels in 2 groups becomes 6 → 4 in 2 groups: each group gains one filter, which sits at index 1 of
        // the weight's axis 1 in both groups' rows; the old filters keep their places (group, index).
        var wide = Generator.Replace("ConvTranspose2d(6, 2, (3, 3)", "ConvTranspose2d(6, 4, (3, 3)");
        var schema = ModelSource.Schema(Schema);
        var plan = SurgeryDiffer.Diff(
            ModelSide.Trace(ModelSource.Graph(ModelSource.Read(Generator, "Generator", Schema)), schema),
            ModelSide.Trace(ModelSource.Graph(ModelSource.Read(wide, "Generator", Schema)), schema));

        var weight = plan.FindTensor("net.3.weight")!;
        Assert.Equal(new long[] { 0, -1 }, Enumerable.Range(0, 2).Select(i => weight.Axes[1].SourceIndex(i)));
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5 }, Enumerable.Range(0, 6).Select(i => weight.Axes[0].SourceIndex(i)));
        var bias = plan.FindTensor("net.3.bias")!;
        Assert.Equal(new long[] { 0, -1, 1, -1 }, Enumerable.Range(0, 4).Select(i => bias.Axes[0].SourceIndex(i)));
    }

    [Theory]
    [InlineData("ConvTranspose1d(4, 2, 3, padding_mode: PaddingModes.Reflect)", "only zero padding exists for transposed convolutions")]
    [InlineData("ConvTranspose1d(4, 2, 3, stride: 2, output_padding: 2)", "output_padding (0, 2) must be >= 0 and smaller than stride or dilation")]
    [InlineData("ConvTranspose1d(4, 3, 3, groups: 2)", "groups (2) must divide in_channels (4) and out_channels (3)")]
    public void Transposed_convolutions_the_IR_cannot_hold_are_refused_at_the_factory(string factory, string message)
    {
        var source = """
            public sealed class Decoder : Module<Tensor, Tensor>
            {
                private readonly Module<Tensor, Tensor> up = FACTORY;

                public Decoder() : base("decoder") => RegisterComponents();

                public override Tensor forward(Tensor signal) => up.forward(signal);
            }
            """.Replace("FACTORY", factory);
        var result = ModelSource.Read(source, "Decoder", "model: Decoder\nversion: 1\ninputs:\n  signal:\n    axes: [batch, features, length]\n    features: [a, b, c, d]\n");

        Assert.Null(result.Graph);
        Assert.Contains(ModelSource.Diagnostics(result), d => d.Contains(message));
    }
}
