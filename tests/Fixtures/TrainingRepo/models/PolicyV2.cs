using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainingRepo.Models;

/// <summary>v2 reads the hero's mana, knows a fourth hero and can cast; its weights start from a trained v1.</summary>
[NeuralSurgery.SurgeryModel("policy.v2.features.yaml")]
[NeuralSurgery.SurgeryFrom(typeof(PolicyV1))]
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
