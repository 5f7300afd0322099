using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// Linear, Embedding and a concat of encoders: v2 reads a new hero feature (mana), knows a fourth hero and has a
// fourth action.

[SurgeryModel("policy.v1.features.yaml")]
public sealed partial class PolicyV1 : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear encoder = Linear(4, 8);
    private readonly Embedding hero_embedding = Embedding(3, 2);
    private readonly Linear head = Linear(10, 3);

    public PolicyV1() : base(nameof(PolicyV1)) => RegisterComponents();

    public override Tensor forward(Tensor hero, Tensor hero_id)
    {
        var x = torch.cat([functional.relu(encoder.forward(hero)), hero_embedding.call(hero_id)], -1);
        return head.forward(x);
    }
}

[SurgeryModel("policy.v2.features.yaml")]
[SurgeryFrom(typeof(PolicyV1))]
public sealed partial class PolicyV2 : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear encoder = Linear(5, 8);
    private readonly Embedding hero_embedding = Embedding(4, 2);
    private readonly Linear head = Linear(10, 4);

    public PolicyV2() : base(nameof(PolicyV2)) => RegisterComponents();

    public override Tensor forward(Tensor hero, Tensor hero_id)
    {
        var x = torch.cat([functional.relu(encoder.forward(hero)), hero_embedding.call(hero_id)], -1);
        return head.forward(x);
    }
}
