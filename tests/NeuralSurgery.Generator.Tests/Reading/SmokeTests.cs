namespace NeuralSurgery.Generator.Tests.Reading;

public class SmokeTests
{
    [Fact]
    public void Mlp()
    {
        var r = ModelSource.Read("""
            public sealed class Mlp : Module<Tensor, Tensor>
            {
                private readonly Linear fc1 = Linear(16, 64);
                private readonly Linear fc2 = Linear(64, 3);

                public Mlp() : base(nameof(Mlp)) => RegisterComponents();

                public override Tensor forward(Tensor x) => fc2.forward(functional.relu(fc1.forward(x)));
            }
            """, "Mlp", """
            model: Mlp
            version: 1
            inputs:
              x:
                features: [{ name: a, width: 16 }]
            outputs:
              y:
                features: [p, q, r]
            """);
        var g = ModelSource.Graph(r);
        Assert.Equal(new[] { "fc1.weight [64, 16]", "fc1.bias [64]", "fc2.weight [3, 64]", "fc2.bias [3]" }, ModelSource.StateDict(g));
        Assert.Equal(new[] { "fc1 = call fc1(x) -> [B, 64]", "relu = relu(fc1) -> [B, 64]", "fc2 = call fc2(relu) -> [B, 3]" }, ModelSource.Nodes(g));
    }
}
