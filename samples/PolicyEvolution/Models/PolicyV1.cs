using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PolicyEvolution.Models;

/// <summary>
/// The policy as first trained: a hero encoder, a hero embedding, a per-unit encoder max-pooled over the units
/// around the hero, a core layer, an LSTM step and an action head.
/// </summary>
[SurgeryModel("policy.v1.features.yaml")]
public sealed partial class PolicyV1 : Module<Tensor, Tensor, Tensor, Tensor>
{
    private const long Encoder = 16;
    private const long Hidden = 16;

    private readonly Linear hero_encoder = Linear(5, Encoder);
    private readonly Embedding hero_embedding = Embedding(3, 4);
    private readonly Linear unit_encoder = Linear(4, Encoder);
    private readonly Linear core = Linear((2 * Encoder) + 4, 32);
    private readonly LSTM lstm = LSTM(32, Hidden);
    private readonly Linear action_head = Linear(Hidden, 3);

    public PolicyV1() : base(nameof(PolicyV1)) => RegisterComponents();

    public override Tensor forward(Tensor hero, Tensor hero_id, Tensor units)
    {
        var heroFeatures = functional.relu(hero_encoder.forward(hero));
        var heroIdentity = hero_embedding.forward(hero_id);
        var around = functional.relu(unit_encoder.forward(units)).max(1).values;
        var x = functional.relu(core.forward(torch.cat([heroFeatures, heroIdentity, around], -1))).unsqueeze(0);
        var (sequence, _, _) = lstm.forward(x);
        return action_head.forward(sequence.squeeze(0));
    }
}
