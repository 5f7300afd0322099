using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// GroupNorm after a convolution (the normalisation of diffusion U-Nets and detection heads): v2 reads a new image
// channel and gains a whole group of filters (6 in groups of 2 → 8 in groups of 2), so every old group keeps its
// channels and statistics.

[SurgeryModel("grouped.v1.features.yaml")]
public sealed partial class GroupedV1 : Module<Tensor, Tensor>
{
    private readonly Conv2d conv = Conv2d(2, 6, 3, padding: 1);
    private readonly GroupNorm norm = GroupNorm(3, 6);
    private readonly AdaptiveAvgPool2d gap = AdaptiveAvgPool2d(1);
    private readonly Linear head = Linear(6, 3);

    public GroupedV1() : base(nameof(GroupedV1))
    {
        RegisterComponents();

        // TorchSharp 0.107's GroupNorm leaves weight and bias uninitialised (PyTorch's are ones and zeros).
        init.ones_(norm.weight);
        init.zeros_(norm.bias);
    }

    public override Tensor forward(Tensor image) => head.forward(gap.forward(functional.silu(norm.forward(conv.forward(image)))).flatten(1));
}

[SurgeryModel("grouped.v2.features.yaml")]
[SurgeryFrom(typeof(GroupedV1))]
public sealed partial class GroupedV2 : Module<Tensor, Tensor>
{
    private readonly Conv2d conv = Conv2d(3, 8, 3, padding: 1);
    private readonly GroupNorm norm = GroupNorm(4, 8);
    private readonly AdaptiveAvgPool2d gap = AdaptiveAvgPool2d(1);
    private readonly Linear head = Linear(8, 3);

    public GroupedV2() : base(nameof(GroupedV2))
    {
        RegisterComponents();

        // TorchSharp 0.107's GroupNorm leaves weight and bias uninitialised (PyTorch's are ones and zeros).
        init.ones_(norm.weight);
        init.zeros_(norm.bias);
    }

    public override Tensor forward(Tensor image) => head.forward(gap.forward(functional.silu(norm.forward(conv.forward(image)))).flatten(1));
}
