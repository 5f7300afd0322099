using System.Linq;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>
/// What TorchSharp registers is what fields hold when RegisterComponents() runs: a mask built after the call is a
/// buffer only when registered by name. Also the minGPT attention idioms around it: a buffer made by a reshaped
/// factory call, x.size() deconstructed through the repository's own extension, sizes divided by constants, and
/// a dispose scope's MoveToOuter.
/// </summary>
public class RegistrationTimeTests
{
    private const string Attention = """
        public sealed class Attention : Module<Tensor, Tensor>
        {
            private readonly Linear query, value;
            private readonly int heads;
            private readonly Tensor mask;

            public Attention(int size = 8, int heads = 2, int block = 4) : base("Attention")
            {
                query = Linear(size, size);
                value = Linear(size, size);
                RegisterComponents();
                mask = ones(block, block).tril().view(1, 1, block, block);
                register_buffer("mask", mask);
                this.heads = heads;
            }

            public override Tensor forward(Tensor x)
            {
                using var scope = NewDisposeScope();
                var (batch, tokens, channels) = x.size();
                var q = query.forward(x).view(batch, tokens, heads, channels / heads).transpose(1, 2);
                var v = value.forward(x).view(batch, tokens, heads, channels / heads).transpose(1, 2);
                var att = q.matmul(q.transpose(-2, -1)) * (1.0 / Math.Sqrt(q.size(-1)));
                att = functional.softmax(att.masked_fill(mask[.., .., ..(int)tokens, ..(int)tokens] == 0, float.NegativeInfinity), -1);
                var y = att.matmul(v).transpose(1, 2).contiguous().view(batch, tokens, channels);
                return scope.MoveToOuter(y);
            }
        }

        static class ShapeDeconstruction
        {
            public static void Deconstruct(this long[] shape, out long a, out long b, out long c)
            {
                a = shape[0];
                b = shape[1];
                c = shape[2];
            }
        }
        """;

    private const string Schema = """
        model: Attention
        version: 1
        inputs:
          x:
            set: true
            features: [{ name: e, width: 8 }]
        """;

    [Fact]
    public void A_mask_built_after_RegisterComponents_is_the_buffer_registered_by_name()
    {
        var result = ModelSource.Read(Attention, "Attention", Schema);
        var graph = ModelSource.Graph(result, allowApproximations: true);

        Assert.Equal(
            new[] { "query.weight [8, 8]", "query.bias [8]", "value.weight [8, 8]", "value.bias [8]", "mask [1, 1, 4, 4]" },
            ModelSource.StateDict(graph));
        Assert.True(graph.FindModule("mask")!.Spec is TensorSpec { IsBuffer: true });

        // The sizes deconstructed from x.size() shape the heads; 1/sqrt(size(-1)) is an exact scale of 1/2.
        Assert.Contains(graph.Nodes, n => n.Op is ReshapeOp && n.OutputShapes[0].ToString() == "[B, N, 2, 4]");
        Assert.Equal(0.5, Assert.Single(graph.Nodes.Select(n => n.Op).OfType<ScaleOp>()).Factor, 12);
        Assert.Equal("[B, N, 8]", graph.ShapeOf(graph.Outputs[0].Value).ToString());
    }

    [Fact]
    public void A_tensor_field_assigned_after_RegisterComponents_and_never_registered_is_no_buffer()
    {
        // NoisyNet's way: noise drawn after the call, so TorchSharp saves no 'noise' and the mirror cannot use it.
        const string source = """
            public sealed class Noisy : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(2, 2);
                private Tensor noise = null!;

                public Noisy() : base("Noisy")
                {
                    RegisterComponents();
                    noise = torch.zeros(2);
                }

                public override Tensor forward(Tensor x) => fc.forward(x) * noise;
            }
            """;
        var result = ModelSource.Read(source, "Noisy", "model: Noisy\nversion: 1\ninputs:\n  x:\n    features: [a, b]\n");

        Assert.DoesNotContain(result.Modules, m => m.Path == "noise");
        Assert.Null(result.Graph);
        Assert.Contains(ModelSource.Diagnostics(result), d => d.Contains("tensor field 'noise' is assigned after RegisterComponents(), so TorchSharp neither registers nor saves it", System.StringComparison.Ordinal));
    }

    [Fact]
    public void A_deconstruction_through_an_extension_that_does_not_pick_elements_is_refused()
    {
        var source = Attention.Replace("a = shape[0];", "a = shape[0] + 1;");
        var result = ModelSource.Read(source, "Attention", Schema);

        Assert.Null(result.Graph);
        Assert.Contains(ModelSource.Diagnostics(result), d => d.StartsWith("NS1001", System.StringComparison.Ordinal)
            && d.Contains("a shape is deconstructed through a Deconstruct extension on long[]", System.StringComparison.Ordinal));
    }
}
