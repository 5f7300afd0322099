using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// TorchSharp's own TransformerEncoder (libtorch's post-norm layers, sequence first, an additive mask passed to
// forward): v2 reads a new feature and has a new action. The encoder's width stays, so its weights are copied whole;
// the new feature's embedding column starts at zero and the new action's head row is new.

[SurgeryModel("sequence.v1.features.yaml")]
public sealed partial class SequenceV1 : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear embed = Linear(3, 8);
    private readonly TransformerEncoder encoder = TransformerEncoder(TransformerEncoderLayer(8, 2, 16, 0.1), 2);
    private readonly Linear head = Linear(8, 2);

    public SequenceV1() : base(nameof(SequenceV1)) => RegisterComponents();

    public override Tensor forward(Tensor track, Tensor mask) => head.forward(encoder.call(embed.forward(track), mask).mean([0]));
}

[SurgeryModel("sequence.v2.features.yaml")]
[SurgeryFrom(typeof(SequenceV1))]
public sealed partial class SequenceV2 : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear embed = Linear(4, 8);
    private readonly TransformerEncoder encoder = TransformerEncoder(TransformerEncoderLayer(8, 2, 16, 0.1), 2);
    private readonly Linear head = Linear(8, 3);

    public SequenceV2() : base(nameof(SequenceV2)) => RegisterComponents();

    public override Tensor forward(Tensor track, Tensor mask) => head.forward(encoder.call(embed.forward(track), mask).mean([0]));
}
