using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainingRepo.Models;

/// <summary>Deliberately drops its last observation before the first weight, so the build warns NS1015 in the schema.</summary>
[NeuralSurgery.SurgeryModel("probe.features.yaml")]
public sealed partial class Probe : Module<Tensor, Tensor>
{
    private readonly Linear fc = Linear(3, 2);

    public Probe() : base(nameof(Probe)) => RegisterComponents();

    public override Tensor forward(Tensor x) => fc.forward(x.narrow(-1, 0, 3));
}
