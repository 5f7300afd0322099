using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// Self-attention written out by hand over a sequence of observations (q, k, v projections, heads by view and
// transpose, scaled dot products, softmax over the keys): v2 reads a new feature and has a third head of the same
// width. A head is a block of projection rows, so the old heads keep their rows and the new head's output columns
// start at zero: its attention runs but reaches nothing until training uses it.

[SurgeryModel("heads.v1.features.yaml")]
public sealed partial class HeadsV1 : Module<Tensor, Tensor>
{
    private const long Heads = 2;
    private const long HeadWidth = 4;
    private readonly Linear query = Linear(3, Heads * HeadWidth);
    private readonly Linear key = Linear(3, Heads * HeadWidth);
    private readonly Linear value = Linear(3, Heads * HeadWidth);
    private readonly Linear mix = Linear(Heads * HeadWidth, 6);
    private readonly Linear head = Linear(6, 2);

    public HeadsV1() : base(nameof(HeadsV1)) => RegisterComponents();

    public override Tensor forward(Tensor track)
    {
        var t = track.shape[1];
        var q = query.forward(track).view(-1, t, Heads, HeadWidth).transpose(1, 2);
        var k = key.forward(track).view(-1, t, Heads, HeadWidth).transpose(1, 2);
        var v = value.forward(track).view(-1, t, Heads, HeadWidth).transpose(1, 2);
        var weights = functional.softmax(q.matmul(k.transpose(-2, -1)) * (1.0 / System.Math.Sqrt(HeadWidth)), -1);
        var y = weights.matmul(v).transpose(1, 2).reshape(-1, t, Heads * HeadWidth);
        return head.forward(functional.relu(mix.forward(y)).mean([1]));
    }
}

[SurgeryModel("heads.v2.features.yaml")]
[SurgeryFrom(typeof(HeadsV1))]
public sealed partial class HeadsV2 : Module<Tensor, Tensor>
{
    private const long Heads = 3;
    private const long HeadWidth = 4;
    private readonly Linear query = Linear(4, Heads * HeadWidth);
    private readonly Linear key = Linear(4, Heads * HeadWidth);
    private readonly Linear value = Linear(4, Heads * HeadWidth);
    private readonly Linear mix = Linear(Heads * HeadWidth, 6);
    private readonly Linear head = Linear(6, 2);

    public HeadsV2() : base(nameof(HeadsV2)) => RegisterComponents();

    public override Tensor forward(Tensor track)
    {
        var t = track.shape[1];
        var q = query.forward(track).view(-1, t, Heads, HeadWidth).transpose(1, 2);
        var k = key.forward(track).view(-1, t, Heads, HeadWidth).transpose(1, 2);
        var v = value.forward(track).view(-1, t, Heads, HeadWidth).transpose(1, 2);
        var weights = functional.softmax(q.matmul(k.transpose(-2, -1)) * (1.0 / System.Math.Sqrt(HeadWidth)), -1);
        var y = weights.matmul(v).transpose(1, 2).reshape(-1, t, Heads * HeadWidth);
        return head.forward(functional.relu(mix.forward(y)).mean([1]));
    }
}
