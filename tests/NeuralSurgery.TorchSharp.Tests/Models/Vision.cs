using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// A small CNN over an image whose channels are the features ([B, C, 12, 12]): v2 reads a new 'heat' channel between
// the two it had, its first convolution has 8 filters instead of 6 (and its BatchNorm2d 8 channels), the second
// reads those 8.

[SurgeryModel("vision.v1.features.yaml")]
public sealed partial class VisionV1 : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1 = Conv2d(2, 6, 3, padding: 1);
    private readonly BatchNorm2d norm1 = BatchNorm2d(6);
    private readonly MaxPool2d pool = MaxPool2d(2);
    private readonly Conv2d conv2 = Conv2d(6, 10, (3, 3), stride: (2, 2), padding: (1, 1));
    private readonly AdaptiveAvgPool2d gap = AdaptiveAvgPool2d(2);
    private readonly Linear head = Linear(40, 4);

    public VisionV1() : base(nameof(VisionV1)) => RegisterComponents();

    public override Tensor forward(Tensor image)
    {
        var x = pool.forward(functional.relu(norm1.forward(conv1.forward(image))));
        var y = gap.forward(functional.relu(conv2.forward(x)));
        return head.forward(y.flatten(1));
    }
}

[SurgeryModel("vision.v2.features.yaml")]
[SurgeryFrom(typeof(VisionV1))]
public sealed partial class VisionV2 : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1 = Conv2d(3, 8, 3, padding: 1);
    private readonly BatchNorm2d norm1 = BatchNorm2d(8);
    private readonly MaxPool2d pool = MaxPool2d(2);
    private readonly Conv2d conv2 = Conv2d(8, 10, (3, 3), stride: (2, 2), padding: (1, 1));
    private readonly AdaptiveAvgPool2d gap = AdaptiveAvgPool2d(2);
    private readonly Linear head = Linear(40, 4);

    public VisionV2() : base(nameof(VisionV2)) => RegisterComponents();

    public override Tensor forward(Tensor image)
    {
        var x = pool.forward(functional.relu(norm1.forward(conv1.forward(image))));
        var y = gap.forward(functional.relu(conv2.forward(x)));
        return head.forward(y.flatten(1));
    }
}
