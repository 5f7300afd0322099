using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// An encoder-decoder over a heat map (a strided Conv2d down, a ConvTranspose2d back up with output padding): v2
// reads a new channel and both convolutions are wider. A transposed convolution's weight is [in, out, kh, kw], so its
// new input rows start at zero and its new filters (axis 1) at TorchSharp's default init.

[SurgeryModel("decoder.v1.features.yaml")]
public sealed partial class DecoderV1 : Module<Tensor, Tensor>
{
    private readonly Conv2d down = Conv2d(2, 4, 3, stride: 2, padding: 1);
    private readonly ConvTranspose2d up = ConvTranspose2d(4, 3, 3, stride: 2, padding: 1, output_padding: 1);
    private readonly AdaptiveAvgPool2d pool = AdaptiveAvgPool2d(1);
    private readonly Linear head = Linear(3, 2);

    public DecoderV1() : base(nameof(DecoderV1)) => RegisterComponents();

    public override Tensor forward(Tensor map) =>
        head.forward(pool.forward(functional.relu(up.forward(functional.relu(down.forward(map))))).flatten(1));
}

[SurgeryModel("decoder.v2.features.yaml")]
[SurgeryFrom(typeof(DecoderV1))]
public sealed partial class DecoderV2 : Module<Tensor, Tensor>
{
    private readonly Conv2d down = Conv2d(3, 6, 3, stride: 2, padding: 1);
    private readonly ConvTranspose2d up = ConvTranspose2d(6, 4, 3, stride: 2, padding: 1, output_padding: 1);
    private readonly AdaptiveAvgPool2d pool = AdaptiveAvgPool2d(1);
    private readonly Linear head = Linear(4, 2);

    public DecoderV2() : base(nameof(DecoderV2)) => RegisterComponents();

    public override Tensor forward(Tensor map) =>
        head.forward(pool.forward(functional.relu(up.forward(functional.relu(down.forward(map))))).flatten(1));
}
