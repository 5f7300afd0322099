using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Graph;

/// <summary>What a parameter or buffer is to its layer; the differ and the init rules key on it.</summary>
public enum ParameterRole
{
    Weight,
    Bias,
    WeightIh,
    WeightHh,
    BiasIh,
    BiasHh,
    RunningMean,
    RunningVar,
    NumBatchesTracked,
}

/// <summary>A parameter or buffer as a layer declares it, before the module path is prefixed.</summary>
public sealed record LayerParameter(string LocalName, Shape Shape, ParameterRole Role, bool IsBuffer, string DType, int Layer = 0, bool Reverse = false);

/// <summary>A module with weights (or running statistics): what a TorchSharp factory call creates.</summary>
public abstract record LayerSpec
{
    /// <summary>Parameters then buffers, each in TorchSharp's registration order.</summary>
    public abstract IEnumerable<LayerParameter> Parameters();

    /// <summary>Short kind name used in messages and JSON.</summary>
    public abstract string Kind { get; }
}

public sealed record LinearSpec(long InFeatures, long OutFeatures, bool Bias = true) : LayerSpec
{
    public override string Kind => "Linear";

    public override IEnumerable<LayerParameter> Parameters()
    {
        yield return new("weight", Shape.Of(OutFeatures, InFeatures), ParameterRole.Weight, false, "float32");
        if (Bias)
        {
            yield return new("bias", Shape.Of(OutFeatures), ParameterRole.Bias, false, "float32");
        }
    }
}

public sealed record EmbeddingSpec(long NumEmbeddings, long EmbeddingDim) : LayerSpec
{
    public override string Kind => "Embedding";

    public override IEnumerable<LayerParameter> Parameters()
    {
        yield return new("weight", Shape.Of(NumEmbeddings, EmbeddingDim), ParameterRole.Weight, false, "float32");
    }
}

public sealed record Conv1dSpec(
    long InChannels,
    long OutChannels,
    long KernelSize,
    long Stride = 1,
    long Padding = 0,
    long Dilation = 1,
    long Groups = 1,
    bool Bias = true) : LayerSpec
{
    public override string Kind => "Conv1d";

    public override IEnumerable<LayerParameter> Parameters()
    {
        yield return new("weight", Shape.Of(OutChannels, InChannels / Groups, KernelSize), ParameterRole.Weight, false, "float32");
        if (Bias)
        {
            yield return new("bias", Shape.Of(OutChannels), ParameterRole.Bias, false, "float32");
        }
    }
}

public enum RecurrentKind
{
    Lstm,
    Gru,
}

/// <summary>LSTM or GRU; rows of every weight are gate blocks (LSTM i, f, g, o; GRU r, z, n).</summary>
public sealed record RecurrentSpec(
    RecurrentKind Cell,
    long InputSize,
    long HiddenSize,
    int NumLayers = 1,
    bool Bias = true,
    bool BatchFirst = false,
    bool Bidirectional = false) : LayerSpec
{
    public override string Kind => Cell == RecurrentKind.Lstm ? "LSTM" : "GRU";

    public int Gates => Cell == RecurrentKind.Lstm ? 4 : 3;

    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>Gate names in row-block order, as PyTorch and TorchSharp lay them out.</summary>
    public IReadOnlyList<string> GateNames => Cell == RecurrentKind.Lstm ? LstmGates : GruGates;

    private static readonly string[] LstmGates = ["i", "f", "g", "o"];
    private static readonly string[] GruGates = ["r", "z", "n"];

    /// <summary>Input width of layer <paramref name="layer"/>: the input size, then D·H for deeper layers.</summary>
    public long LayerInputSize(int layer) => layer == 0 ? InputSize : HiddenSize * Directions;

    public override IEnumerable<LayerParameter> Parameters()
    {
        // Order of PyTorch's _flat_weights_names, which TorchSharp registers the same way:
        // per layer, per direction: weight_ih, weight_hh, bias_ih, bias_hh.
        for (var layer = 0; layer < NumLayers; layer++)
        {
            for (var dir = 0; dir < Directions; dir++)
            {
                var suffix = "_l" + layer.ToString(CultureInfo.InvariantCulture) + (dir == 1 ? "_reverse" : string.Empty);
                var rows = Gates * HiddenSize;
                var reverse = dir == 1;
                yield return new("weight_ih" + suffix, Shape.Of(rows, LayerInputSize(layer)), ParameterRole.WeightIh, false, "float32", layer, reverse);
                yield return new("weight_hh" + suffix, Shape.Of(rows, HiddenSize), ParameterRole.WeightHh, false, "float32", layer, reverse);
                if (Bias)
                {
                    yield return new("bias_ih" + suffix, Shape.Of(rows), ParameterRole.BiasIh, false, "float32", layer, reverse);
                    yield return new("bias_hh" + suffix, Shape.Of(rows), ParameterRole.BiasHh, false, "float32", layer, reverse);
                }
            }
        }
    }
}

public sealed record LayerNormSpec(EquatableArray<long> NormalizedShape, double Eps = 1e-5, bool ElementwiseAffine = true, bool Bias = true) : LayerSpec
{
    public override string Kind => "LayerNorm";

    public override IEnumerable<LayerParameter> Parameters()
    {
        if (!ElementwiseAffine)
        {
            yield break;
        }

        var shape = new Shape(NormalizedShape.Select(Dim.Of));
        yield return new("weight", shape, ParameterRole.Weight, false, "float32");
        if (Bias)
        {
            yield return new("bias", shape, ParameterRole.Bias, false, "float32");
        }
    }
}

public sealed record BatchNorm1dSpec(long NumFeatures, double Eps = 1e-5, double Momentum = 0.1, bool Affine = true, bool TrackRunningStats = true) : LayerSpec
{
    public override string Kind => "BatchNorm1d";

    public override IEnumerable<LayerParameter> Parameters()
    {
        var shape = Shape.Of(NumFeatures);
        if (Affine)
        {
            yield return new("weight", shape, ParameterRole.Weight, false, "float32");
            yield return new("bias", shape, ParameterRole.Bias, false, "float32");
        }

        if (TrackRunningStats)
        {
            yield return new("running_mean", shape, ParameterRole.RunningMean, true, "float32");
            yield return new("running_var", shape, ParameterRole.RunningVar, true, "float32");
            yield return new("num_batches_tracked", Shape.Scalar, ParameterRole.NumBatchesTracked, true, "int64");
        }
    }
}
