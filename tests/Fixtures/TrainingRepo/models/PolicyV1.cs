using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainingRepo.Models;

/// <summary>The policy as first trained: four hero observations and an embedding of which hero it plays.</summary>
[NeuralSurgery.SurgeryModel("policy.v1.features.yaml")]
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
