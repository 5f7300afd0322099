using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// RMSNorm written out (LLaMA's: x · rsqrt(mean(x²) + eps) · weight) and a division by a vector norm: v2 reads a new
// feature and has a new action. The hidden width stays, so each normalisation's statistics are the old ones.

[SurgeryModel("normed.v1.features.yaml")]
public sealed partial class NormedV1 : Module<Tensor, Tensor>
{
    private readonly Linear encoder = Linear(3, 6);
    private readonly Parameter scale = Parameter(torch.ones(6));
    private readonly Linear head = Linear(6, 2);

    public NormedV1() : base(nameof(NormedV1)) => RegisterComponents();

    public override Tensor forward(Tensor obs)
    {
        var h = encoder.forward(obs);
        var normed = h * torch.rsqrt(h.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-6) * scale;
        var unit = normed / (normed.square().sum(new long[] { -1 }, keepdim: true) + 1).sqrt();
        return head.forward(unit);
    }
}

[SurgeryModel("normed.v2.features.yaml")]
[SurgeryFrom(typeof(NormedV1))]
public sealed partial class NormedV2 : Module<Tensor, Tensor>
{
    private readonly Linear encoder = Linear(4, 6);
    private readonly Parameter scale = Parameter(torch.ones(6));
    private readonly Linear head = Linear(6, 3);

    public NormedV2() : base(nameof(NormedV2)) => RegisterComponents();

    public override Tensor forward(Tensor obs)
    {
        var h = encoder.forward(obs);
        var normed = h * torch.rsqrt(h.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-6) * scale;
        var unit = normed / (normed.square().sum(new long[] { -1 }, keepdim: true) + 1).sqrt();
        return head.forward(unit);
    }
}
