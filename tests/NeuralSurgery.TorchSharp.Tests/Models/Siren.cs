using NeuralSurgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NeuralSurgery.TorchSharp.Tests.Models;

// A SIREN as minGPT's TorchSharp port writes it: Linear layers made in a loop, registered one by one with
// register_module and kept in an array; forward scales each layer's output in place and takes its sine. v2 reads a
// third coordinate.

[SurgeryModel("siren.v1.features.yaml")]
public sealed partial class SirenV1 : Module<Tensor, Tensor>
{
    private readonly Linear[] layers;

    public SirenV1(int inputSize = 2, float firstScale = 3, float innerScale = 1.5f) : base(nameof(SirenV1))
    {
        FirstScale = firstScale;
        InnerScale = innerScale;
        int[] sizes = [8, 8, 2];
        layers = new Linear[sizes.Length];
        var width = inputSize;
        for (var i = 0; i < sizes.Length; i++)
        {
            var layer = Linear(width, sizes[i]);
            layers[i] = layer;
            register_module($"i{i}", layer);
            width = sizes[i];
        }
    }

    public float FirstScale { get; }

    public float InnerScale { get; }

    public override Tensor forward(Tensor coordinates)
    {
        var result = coordinates;
        for (var i = 0; i < layers.Length; i++)
        {
            var scale = i == 0 ? FirstScale : InnerScale;
            var next = layers[i].forward(result);
            next.mul_(scale);
            next.sin_();
            if (!ReferenceEquals(result, coordinates))
            {
                result.Dispose();
            }

            result = next;
        }

        return result;
    }
}

[SurgeryModel("siren.v2.features.yaml")]
[SurgeryFrom(typeof(SirenV1))]
public sealed partial class SirenV2 : Module<Tensor, Tensor>
{
    private readonly Linear[] layers;

    public SirenV2(int inputSize = 3, float firstScale = 3, float innerScale = 1.5f) : base(nameof(SirenV2))
    {
        FirstScale = firstScale;
        InnerScale = innerScale;
        int[] sizes = [8, 8, 2];
        layers = new Linear[sizes.Length];
        var width = inputSize;
        for (var i = 0; i < sizes.Length; i++)
        {
            var layer = Linear(width, sizes[i]);
            layers[i] = layer;
            register_module($"i{i}", layer);
            width = sizes[i];
        }
    }

    public float FirstScale { get; }

    public float InnerScale { get; }

    public override Tensor forward(Tensor coordinates)
    {
        var result = coordinates;
        for (var i = 0; i < layers.Length; i++)
        {
            var scale = i == 0 ? FirstScale : InnerScale;
            var next = layers[i].forward(result);
            next.mul_(scale);
            next.sin_();
            if (!ReferenceEquals(result, coordinates))
            {
                result.Dispose();
            }

            result = next;
        }

        return result;
    }
}
