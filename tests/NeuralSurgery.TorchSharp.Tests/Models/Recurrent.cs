using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// An LSTM and a GRU over a sequence (batch first), each widened (LSTM 16 → 24, GRU 8 → 12: every gate block), with
// a new input feature.

[SurgeryModel("tracker.v1.features.yaml")]
public sealed partial class TrackerV1 : Module<Tensor, Tensor>
{
    private readonly LSTM lstm = LSTM(3, 16, batchFirst: true);
    private readonly GRU gru = GRU(16, 8, batchFirst: true);
    private readonly Linear head = Linear(8, 2);

    public TrackerV1() : base(nameof(TrackerV1)) => RegisterComponents();

    public override Tensor forward(Tensor track)
    {
        var (sequence, _, _) = lstm.forward(track);
        var (summary, _) = gru.forward(sequence);
        return head.forward(summary.max(1).values);
    }
}

[SurgeryModel("tracker.v2.features.yaml")]
[SurgeryFrom(typeof(TrackerV1))]
public sealed partial class TrackerV2 : Module<Tensor, Tensor>
{
    private readonly LSTM lstm = LSTM(4, 24, batchFirst: true);
    private readonly GRU gru = GRU(24, 12, batchFirst: true);
    private readonly Linear head = Linear(12, 2);

    public TrackerV2() : base(nameof(TrackerV2)) => RegisterComponents();

    public override Tensor forward(Tensor track)
    {
        var (sequence, _, _) = lstm.forward(track);
        var (summary, _) = gru.forward(sequence);
        return head.forward(summary.max(1).values);
    }
}
