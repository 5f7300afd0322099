using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PolicyEvolution.Models;

/// <summary>
/// v3 widens the LSTM from 16 to 24 hidden units and adds the action <c>cast</c> to the head. New LSTM units get
/// TorchSharp's default initialisation with zero fan-out, the new head row zero weights, so v3 computes what v2 did.
/// </summary>
[SurgeryModel("policy.v3.features.yaml")]
[SurgeryFrom(typeof(PolicyV2))]
public sealed partial class PolicyV3 : Module<Tensor, Tensor, Tensor, Tensor>
{
    private const long Encoder = 16;
    private const long Hidden = 24;

    private readonly Linear hero_encoder = Linear(8, Encoder);
    private readonly Embedding hero_embedding = Embedding(4, 4);
    private readonly Linear unit_encoder = Linear(4, Encoder);
    private readonly Linear core = Linear((2 * Encoder) + 4, 32);
    private readonly LSTM lstm = LSTM(32, Hidden);
    private readonly Linear action_head = Linear(Hidden, 4);

    public PolicyV3() : base(nameof(PolicyV3)) => RegisterComponents();

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
