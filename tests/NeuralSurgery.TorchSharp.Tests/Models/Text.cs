using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// A bag-of-words classifier (TorchSharp's text classification example): token ids of every text end to end in one
// flat tensor, the offsets where each text starts, an EmbeddingBag and a head. v2 learns a new word and a wider
// embedding.

[SurgeryModel("text.v1.features.yaml")]
public sealed partial class TextV1 : Module<Tensor, Tensor, Tensor>
{
    private readonly EmbeddingBag bag = EmbeddingBag(4, 6);
    private readonly Linear head = Linear(6, 3);

    public TextV1() : base(nameof(TextV1)) => RegisterComponents();

    public override Tensor forward(Tensor tokens, Tensor offsets) => head.forward(bag.call(tokens, offsets));
}

[SurgeryModel("text.v2.features.yaml")]
[SurgeryFrom(typeof(TextV1))]
public sealed partial class TextV2 : Module<Tensor, Tensor, Tensor>
{
    private readonly EmbeddingBag bag = EmbeddingBag(5, 8);
    private readonly Linear head = Linear(8, 3);

    public TextV2() : base(nameof(TextV2)) => RegisterComponents();

    public override Tensor forward(Tensor tokens, Tensor offsets) => head.forward(bag.call(tokens, offsets));
}
