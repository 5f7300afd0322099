using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// TorchSharp's MultiheadAttention gains a head: v1 has 2 heads of 2 (embed_dim 4), v2 3 heads of 2 (embed_dim 6).
// The packed in_proj rows are (block, head, index) units, so each old head keeps its q, k and v rows; the new head's
// out_proj columns start at zero, and the widened embedding feeds the old rows through zero columns.

[SurgeryModel("attention.v1.features.yaml")]
public sealed partial class AttentionV1 : Module<Tensor, Tensor>
{
    private readonly Linear embed = Linear(3, 4);
    private readonly MultiheadAttention attention = MultiheadAttention(4, 2);
    private readonly Linear head = Linear(4, 2);

    public AttentionV1() : base(nameof(AttentionV1)) => RegisterComponents();

    public override Tensor forward(Tensor track)
    {
        var x = embed.forward(track);
        var mixed = attention.call(x, x, x, null, false, null).Item1;
        return head.forward(mixed.mean([0]));
    }
}

[SurgeryModel("attention.v2.features.yaml")]
[SurgeryFrom(typeof(AttentionV1))]
public sealed partial class AttentionV2 : Module<Tensor, Tensor>
{
    private readonly Linear embed = Linear(3, 6);
    private readonly MultiheadAttention attention = MultiheadAttention(6, 3);
    private readonly Linear head = Linear(6, 2);

    public AttentionV2() : base(nameof(AttentionV2)) => RegisterComponents();

    public override Tensor forward(Tensor track)
    {
        var x = embed.forward(track);
        var mixed = attention.call(x, x, x, null, false, null).Item1;
        return head.forward(mixed.mean([0]));
    }
}
