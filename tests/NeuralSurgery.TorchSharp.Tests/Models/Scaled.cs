using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// Tensor fields: a learned per-feature scale (a Parameter), a position table (a Parameter) and a constant mask
// (a buffer); v2 reads a new feature, so the scale and the table gain a column.

[SurgeryModel("scaled.v1.features.yaml")]
public sealed partial class ScaledV1 : Module<Tensor, Tensor>
{
    private readonly Linear head = Linear(3, 2);
    private readonly Parameter scale = Parameter(torch.ones(3));
    private readonly Parameter positions = Parameter(torch.zeros(4, 3));

    public ScaledV1() : base(nameof(ScaledV1))
    {
        register_buffer("keep", torch.ones(4, 3));
        RegisterComponents();
    }

    public override Tensor forward(Tensor steps) => head.forward(((steps + positions) * scale * get_buffer("keep")!).mean([1]));
}

[SurgeryModel("scaled.v2.features.yaml")]
[SurgeryFrom(typeof(ScaledV1))]
public sealed partial class ScaledV2 : Module<Tensor, Tensor>
{
    private readonly Linear head = Linear(4, 2);
    private readonly Parameter scale = Parameter(torch.ones(4));
    private readonly Parameter positions = Parameter(torch.zeros(4, 4));

    public ScaledV2() : base(nameof(ScaledV2))
    {
        register_buffer("keep", torch.ones(4, 4));
        RegisterComponents();
    }

    public override Tensor forward(Tensor steps) => head.forward(((steps + positions) * scale * get_buffer("keep")!).mean([1]));
}
