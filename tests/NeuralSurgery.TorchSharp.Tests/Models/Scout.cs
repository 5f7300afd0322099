using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// A set of units (max-pooled), LayerNorm on the pooled encoding, BatchNorm1d on a widened hidden layer: v2 reads a
// new unit feature (armor) and a renamed one (hp → health), and the hidden layer grows from 12 to 16 units.

[SurgeryModel("scout.v1.features.yaml")]
public sealed partial class ScoutV1 : Module<Tensor, Tensor>
{
    private readonly Linear unit_encoder = Linear(3, 6);
    private readonly LayerNorm norm = LayerNorm(6);
    private readonly Linear hidden = Linear(6, 12);
    private readonly BatchNorm1d batch_norm = BatchNorm1d(12);
    private readonly Linear head = Linear(12, 2);

    public ScoutV1() : base(nameof(ScoutV1)) => RegisterComponents();

    public override Tensor forward(Tensor units)
    {
        var pooled = functional.relu(unit_encoder.forward(units)).max(1).values;
        var h = functional.relu(batch_norm.forward(hidden.forward(norm.forward(pooled))));
        return head.forward(h);
    }
}

[SurgeryModel("scout.v2.features.yaml")]
[SurgeryFrom(typeof(ScoutV1))]
public sealed partial class ScoutV2 : Module<Tensor, Tensor>
{
    private readonly Linear unit_encoder = Linear(4, 6);
    private readonly LayerNorm norm = LayerNorm(6);
    private readonly Linear hidden = Linear(6, 16);
    private readonly BatchNorm1d batch_norm = BatchNorm1d(16);
    private readonly Linear head = Linear(16, 2);

    public ScoutV2() : base(nameof(ScoutV2)) => RegisterComponents();

    public override Tensor forward(Tensor units)
    {
        var pooled = functional.relu(unit_encoder.forward(units)).max(1).values;
        var h = functional.relu(batch_norm.forward(hidden.forward(norm.forward(pooled))));
        return head.forward(h);
    }
}
