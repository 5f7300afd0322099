using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// GPT's embeddings: token table plus a learned position table looked up with arange(T), then a head over the
// sequence. v2 knows a new word and has a new action; the position table is copied whole.

[SurgeryModel("positions.v1.features.yaml")]
public sealed partial class PositionsV1 : Module<Tensor, Tensor>
{
    private readonly Embedding wte = Embedding(5, 8);
    private readonly Embedding wpe = Embedding(16, 8);
    private readonly LayerNorm norm = LayerNorm(8);
    private readonly Linear head = Linear(8, 2);

    public PositionsV1() : base(nameof(PositionsV1)) => RegisterComponents();

    public override Tensor forward(Tensor idx)
    {
        var pos = torch.arange(0, idx.shape[1], dtype: ScalarType.Int64);
        return head.forward(norm.forward(wte.forward(idx) + wpe.forward(pos)).mean(new long[] { 1 }));
    }
}

[SurgeryModel("positions.v2.features.yaml")]
[SurgeryFrom(typeof(PositionsV1))]
public sealed partial class PositionsV2 : Module<Tensor, Tensor>
{
    private readonly Embedding wte = Embedding(6, 8);
    private readonly Embedding wpe = Embedding(16, 8);
    private readonly LayerNorm norm = LayerNorm(8);
    private readonly Linear head = Linear(8, 3);

    public PositionsV2() : base(nameof(PositionsV2)) => RegisterComponents();

    public override Tensor forward(Tensor idx)
    {
        var pos = torch.arange(0, idx.shape[1], dtype: ScalarType.Int64);
        return head.forward(norm.forward(wte.forward(idx) + wpe.forward(pos)).mean(new long[] { 1 }));
    }
}
