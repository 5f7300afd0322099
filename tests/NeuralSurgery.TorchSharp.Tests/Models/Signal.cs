using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// A Conv1d over the positions of a sequence (channels = features): v2 reads a new channel and has 8 filters, not 6.

[SurgeryModel("signal.v1.features.yaml")]
public sealed partial class SignalV1 : Module<Tensor, Tensor>
{
    private readonly Conv1d conv = Conv1d(2, 6, 1);
    private readonly Linear head = Linear(6, 3);

    public SignalV1() : base(nameof(SignalV1)) => RegisterComponents();

    public override Tensor forward(Tensor samples)
    {
        var h = functional.relu(conv.forward(samples.transpose(1, 2)));
        return head.forward(h.mean([2]));
    }
}

[SurgeryModel("signal.v2.features.yaml")]
[SurgeryFrom(typeof(SignalV1))]
public sealed partial class SignalV2 : Module<Tensor, Tensor>
{
    private readonly Conv1d conv = Conv1d(3, 8, 1);
    private readonly Linear head = Linear(8, 3);

    public SignalV2() : base(nameof(SignalV2)) => RegisterComponents();

    public override Tensor forward(Tensor samples)
    {
        var h = functional.relu(conv.forward(samples.transpose(1, 2)));
        return head.forward(h.mean([2]));
    }
}
