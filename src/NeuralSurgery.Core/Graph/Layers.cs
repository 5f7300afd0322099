using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Plan;

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
public sealed record LayerParameter(string LocalName, Shape Shape, ParameterRole Role, bool IsBuffer, string DType, int Layer = 0, bool Reverse = false)
{
    /// <summary>The state_dict name under <paramref name="module"/>; a tensor field's own name is its path (empty local name).</summary>
    public string FullName(string module) => LocalName.Length == 0 ? module : module + "." + LocalName;
}

/// <summary>A module with weights (or running statistics): what a TorchSharp factory call creates.</summary>
public abstract record LayerSpec
{
    /// <summary>Parameters then buffers, each in TorchSharp's registration order.</summary>
    public abstract IEnumerable<LayerParameter> Parameters();

    /// <summary>Short kind name used in messages and JSON.</summary>
    public abstract string Kind { get; }

    /// <summary>Double dispatch to the visitor's method for this layer kind.</summary>
    public abstract TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg);

    /// <summary>What each axis of <paramref name="parameter"/> is to the layer: the differ's init order keys on it.</summary>
    public abstract AxisRole[] AxisRoles(LayerParameter parameter);

    /// <summary>TorchSharp's default initialisation of <paramref name="parameter"/> (its reset_parameters).</summary>
    public abstract InitRule DefaultInit(LayerParameter parameter);

    /// <summary>
    /// Groups the layer's units fall into (a grouped convolution's channels read only their group's inputs), so a
    /// widened layer maps unit (group, index) to the same place in the old one; 1 for everything else.
    /// </summary>
    public virtual long UnitGroups => 1;

    /// <summary>
    /// Whether unit (group, index) keeps its identity when the group count changes: true for attention heads (a
    /// head's rows meet only the same head's), false for grouped convolutions (their groups decide the inputs).
    /// </summary>
    public virtual bool GroupsMayChange => false;

    /// <summary>
    /// How many units the layer makes (its output features: Linear rows, Embedding dimensions, convolution filters),
    /// each with an identity the differ matches across versions; null for layers without units of their own (norms).
    /// Recurrent layers have per-layer, per-direction hidden units and gate blocks instead.
    /// </summary>
    public virtual long? Units => null;

    /// <summary>The axis of <paramref name="parameter"/> along which its elements belong to the layer's units.</summary>
    public virtual int UnitAxis(LayerParameter parameter) => 0;

    /// <summary>What is wrong with the hyperparameters ("in_features is 0; expected >= 1"); empty when valid.</summary>
    public abstract IEnumerable<string> Problems();

    /// <summary>Elementwise axes, weight and running_var 1, the rest 0: the norm layers' facts.</summary>
    private protected static AxisRole[] ElementwiseRoles(LayerParameter p) => Enumerable.Repeat(AxisRole.Elementwise, p.Shape.Rank).ToArray();

    private protected static InitRule NormInit(LayerParameter p) => p.Role is ParameterRole.Weight or ParameterRole.RunningVar ? InitRule.Ones : InitRule.Zeros;

    private protected static string? Positive(long value, string name) =>
        value < 1 ? $"{name} is {value.ToString(CultureInfo.InvariantCulture)}; expected >= 1" : null;

    private protected static string? Finite(double value, string name, bool positive) =>
        double.IsNaN(value) || double.IsInfinity(value) || value < 0 || (positive && value == 0)
            ? $"{name} is {value.ToString(CultureInfo.InvariantCulture)}; expected a finite number {(positive ? "> 0" : ">= 0")}"
            : null;

    private protected static IEnumerable<string> Collect(params string?[] problems) => problems.Where(p => p is not null)!;
}

public sealed record LinearSpec(long InFeatures, long OutFeatures, bool Bias = true) : LayerSpec
{
    public override string Kind => "Linear";

    public override long? Units => OutFeatures;

    public override TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitLinear(this, arg);

    public override AxisRole[] AxisRoles(LayerParameter parameter) =>
        parameter.Role == ParameterRole.Weight ? [AxisRole.Output, AxisRole.Input] : [AxisRole.Output];

    public override InitRule DefaultInit(LayerParameter parameter) => InitRule.Uniform(1 / Math.Sqrt(InFeatures));

    public override IEnumerable<string> Problems() => Collect(Positive(InFeatures, "in_features"), Positive(OutFeatures, "out_features"));

    public override IEnumerable<LayerParameter> Parameters()
    {
        yield return new("weight", Shape.Of(OutFeatures, InFeatures), ParameterRole.Weight, false, "float32");
        if (Bias)
        {
            yield return new("bias", Shape.Of(OutFeatures), ParameterRole.Bias, false, "float32");
        }
    }
}

/// <summary>
/// An EmbeddingBag's reduction: each bag's rows are summed, averaged or maxed (<c>mode</c>). Bags are the rows of a
/// 2-D index input, or runs of a flat index input that start at the offsets input's values; with
/// <c>include_last_offset</c> the offsets also end the last bag, so there is one bag fewer than offsets.
/// </summary>
public sealed record BagReduction(string Mode, bool IncludeLastOffset = false)
{
    public const string Sum = "sum";
    public const string Mean = "mean";
    public const string Max = "max";

    public static bool IsMode(string mode) => mode is Sum or Mean or Max;
}

/// <summary>
/// An Embedding, or with <see cref="Bag"/> an EmbeddingBag: the same weight [vocabulary, dim] looked up and then
/// reduced per bag. The mirror reads both as a product with the one-hot input (paper 001 Table 1), the bag as a
/// reduction over its rows, so every fact of the weight is shared.
/// </summary>
public sealed record EmbeddingSpec(long NumEmbeddings, long EmbeddingDim, BagReduction? Bag = null) : LayerSpec
{
    public override string Kind => Bag is null ? "Embedding" : "EmbeddingBag";

    public override long? Units => EmbeddingDim;

    /// <summary>The weight is stored [vocabulary, dim]: units on axis 1.</summary>
    public override int UnitAxis(LayerParameter parameter) => 1;

    public override TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitEmbedding(this, arg);

    public override AxisRole[] AxisRoles(LayerParameter parameter) => [AxisRole.Input, AxisRole.Output];

    public override InitRule DefaultInit(LayerParameter parameter) => InitRule.Normal(1);

    public override IEnumerable<string> Problems() => Collect(
        Positive(NumEmbeddings, "num_embeddings"),
        Positive(EmbeddingDim, "embedding_dim"),
        Bag is { } bag && !BagReduction.IsMode(bag.Mode) ? $"mode is '{bag.Mode}'; expected sum, mean or max" : null);

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

    public override long? Units => OutChannels;

    /// <summary>The same convolution over <c>[B, C, 1, L]</c>: the mirror rules of Conv2d serve both (same element order).</summary>
    public Conv2dSpec AsConv2d() => new(InChannels, OutChannels, 1, KernelSize, 1, Stride, 0, Padding, 1, Dilation, Groups, Bias);

    public override long UnitGroups => Groups;

    public override TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitConv1d(this, arg);

    public override AxisRole[] AxisRoles(LayerParameter parameter) =>
        parameter.Role == ParameterRole.Weight ? [AxisRole.Output, AxisRole.Input, AxisRole.Kernel] : [AxisRole.Output];

    public override InitRule DefaultInit(LayerParameter parameter) => InitRule.Uniform(1 / Math.Sqrt(InChannels / Groups * KernelSize));

    public override IEnumerable<string> Problems()
    {
        var basic = Collect(
            Positive(InChannels, "in_channels"),
            Positive(OutChannels, "out_channels"),
            Positive(KernelSize, "kernel_size"),
            Positive(Stride, "stride"),
            Positive(Dilation, "dilation"),
            Positive(Groups, "groups")).ToList();
        if (basic.Count == 0 && (Padding < 0 || InChannels % Groups != 0 || OutChannels % Groups != 0))
        {
            basic.Add($"padding must be >= 0 and groups ({Groups}) must divide in_channels ({InChannels}) and out_channels ({OutChannels})");
        }

        return basic;
    }

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

    /// <summary>More layers than any real model has: a bound that keeps a hostile graph file from asking for absurd work.</summary>
    public const int MaxLayers = 1024;

    public override TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitRecurrent(this, arg);

    public override AxisRole[] AxisRoles(LayerParameter parameter) =>
        parameter.Role is ParameterRole.WeightIh or ParameterRole.WeightHh ? [AxisRole.Output, AxisRole.Input] : [AxisRole.Output];

    public override InitRule DefaultInit(LayerParameter parameter) => InitRule.Uniform(1 / Math.Sqrt(HiddenSize));

    public override IEnumerable<string> Problems() => Collect(
        Positive(InputSize, "input_size"),
        Positive(HiddenSize, "hidden_size"),
        Positive(NumLayers, "num_layers"),
        NumLayers > MaxLayers ? $"num_layers is {NumLayers}; expected at most {MaxLayers}" : null);

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

    public override TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitLayerNorm(this, arg);

    public override AxisRole[] AxisRoles(LayerParameter parameter) => ElementwiseRoles(parameter);

    public override InitRule DefaultInit(LayerParameter parameter) => NormInit(parameter);

    public override IEnumerable<string> Problems() => Collect(
        Finite(Eps, "eps", positive: true),
        NormalizedShape.IsEmpty || NormalizedShape.Any(d => d < 1) ? $"normalized_shape [{string.Join(", ", NormalizedShape)}] must be non-empty with dimensions >= 1" : null);

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

/// <summary>
/// GroupNorm on [N, C, *]: statistics per sample over each group of C/G consecutive channels and all their positions;
/// weight and bias per channel. Widening keeps the old function only when whole groups are added (C/G unchanged).
/// </summary>
public sealed record GroupNormSpec(long NumGroups, long NumChannels, double Eps = 1e-5, bool Affine = true) : LayerSpec
{
    public override string Kind => "GroupNorm";

    public long ChannelsPerGroup => NumGroups < 1 ? 0 : NumChannels / NumGroups;

    public override TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitGroupNorm(this, arg);

    public override AxisRole[] AxisRoles(LayerParameter parameter) => ElementwiseRoles(parameter);

    public override InitRule DefaultInit(LayerParameter parameter) => NormInit(parameter);

    public override IEnumerable<string> Problems() => Collect(
        Positive(NumGroups, "num_groups"),
        Positive(NumChannels, "num_channels"),
        Finite(Eps, "eps", positive: true),
        NumGroups >= 1 && NumChannels % NumGroups != 0 ? $"num_channels {NumChannels} is not divisible by num_groups {NumGroups}" : null);

    public override IEnumerable<LayerParameter> Parameters()
    {
        if (Affine)
        {
            yield return new("weight", Shape.Of(NumChannels), ParameterRole.Weight, false, "float32");
            yield return new("bias", Shape.Of(NumChannels), ParameterRole.Bias, false, "float32");
        }
    }
}

/// <summary>BatchNorm over channels (axis 1): its tensors follow the channels elementwise.</summary>
public abstract record BatchNormSpec(long NumFeatures, double Eps, double Momentum, bool Affine, bool TrackRunningStats) : LayerSpec
{
    /// <summary>Spatial axes after the channel axis: 0 or 1 for BatchNorm1d, 2 for BatchNorm2d.</summary>
    public abstract int SpatialAxes { get; }

    public override AxisRole[] AxisRoles(LayerParameter parameter) => ElementwiseRoles(parameter);

    public override InitRule DefaultInit(LayerParameter parameter) => NormInit(parameter);

    public override IEnumerable<string> Problems() => Collect(
        Positive(NumFeatures, "num_features"), Finite(Eps, "eps", positive: true), Finite(Momentum, "momentum", positive: false));

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

/// <summary>BatchNorm1d over <c>[B, C]</c> or <c>[B, C, L]</c>.</summary>
public sealed record BatchNorm1dSpec(long NumFeatures, double Eps = 1e-5, double Momentum = 0.1, bool Affine = true, bool TrackRunningStats = true)
    : BatchNormSpec(NumFeatures, Eps, Momentum, Affine, TrackRunningStats)
{
    public override string Kind => "BatchNorm1d";

    public override int SpatialAxes => 1;

    public override TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitBatchNorm1d(this, arg);
}

/// <summary>
/// The input projections of torch.nn.MultiheadAttention (packed: kdim = vdim = embed_dim): query, key and value
/// times their block of rows of <c>in_proj_weight</c> <c>[3E, E]</c> plus their block of <c>in_proj_bias</c>
/// <c>[3E]</c>. Operands query, key, value (each <c>[.., E]</c>); outputs their three projections. The reader builds
/// the rest of the attention from graph ops as PyTorch's multi_head_attention_forward computes it (heads by
/// reshape, scaled dot products, softmax over the keys, the <c>out_proj</c> Linear), so only this packed
/// parameter needs a layer of its own. A head is <c>E / heads</c> consecutive rows of each block: the heads are the
/// layer's unit groups, so a wider layer keeps each old head's rows.
/// </summary>
public sealed record AttentionProjectionSpec(long EmbedDim, long NumHeads, bool Bias = true) : LayerSpec
{
    /// <summary>The three row blocks, in in_proj_weight's order; each is a unit space of its own (like gate blocks).</summary>
    public static readonly string[] Blocks = ["q", "k", "v"];

    public override string Kind => "AttentionProjection";

    public long HeadDim => EmbedDim / NumHeads;

    public override long UnitGroups => NumHeads;

    public override bool GroupsMayChange => true;

    public override TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitAttentionProjection(this, arg);

    public override AxisRole[] AxisRoles(LayerParameter parameter) =>
        parameter.Role == ParameterRole.Weight ? [AxisRole.Output, AxisRole.Input] : [AxisRole.Output];

    /// <summary>PyTorch's _reset_parameters: xavier_uniform_ on the packed [3E, E] weight, zeros for the bias.</summary>
    public override InitRule DefaultInit(LayerParameter parameter) =>
        parameter.Role == ParameterRole.Weight ? InitRule.Uniform(Math.Sqrt(6.0 / (EmbedDim + (3 * EmbedDim)))) : InitRule.Zeros;

    public override IEnumerable<string> Problems()
    {
        var basic = Collect(Positive(EmbedDim, "embed_dim"), Positive(NumHeads, "num_heads")).ToList();
        if (basic.Count == 0 && EmbedDim % NumHeads != 0)
        {
            basic.Add($"embed_dim ({EmbedDim}) must be divisible by num_heads ({NumHeads})");
        }

        return basic;
    }

    public override IEnumerable<LayerParameter> Parameters()
    {
        yield return new("in_proj_weight", Shape.Of(3 * EmbedDim, EmbedDim), ParameterRole.Weight, false, "float32");
        if (Bias)
        {
            yield return new("in_proj_bias", Shape.Of(3 * EmbedDim), ParameterRole.Bias, false, "float32");
        }
    }
}

/// <summary>BatchNorm2d over <c>[B, C, H, W]</c>.</summary>
public sealed record BatchNorm2dSpec(long NumFeatures, double Eps = 1e-5, double Momentum = 0.1, bool Affine = true, bool TrackRunningStats = true)
    : BatchNormSpec(NumFeatures, Eps, Momentum, Affine, TrackRunningStats)
{
    public override string Kind => "BatchNorm2d";

    public override int SpatialAxes => 2;

    public override TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitBatchNorm2d(this, arg);
}

/// <summary>
/// Conv2d over <c>[B, C, H, W]</c> or <c>[C, H, W]</c>; weight <c>[out, in/groups, kh, kw]</c>. It mixes positions and the
/// channels of a group, never other channels, so features that sit on channels keep their own weight columns.
/// </summary>
public sealed record Conv2dSpec(
    long InChannels,
    long OutChannels,
    long KernelH,
    long KernelW,
    long StrideH = 1,
    long StrideW = 1,
    long PaddingH = 0,
    long PaddingW = 0,
    long DilationH = 1,
    long DilationW = 1,
    long Groups = 1,
    bool Bias = true) : LayerSpec
{
    public override string Kind => "Conv2d";

    public override long? Units => OutChannels;

    public override long UnitGroups => Groups;

    public override TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitConv2d(this, arg);

    public override AxisRole[] AxisRoles(LayerParameter parameter) =>
        parameter.Role == ParameterRole.Weight ? [AxisRole.Output, AxisRole.Input, AxisRole.Kernel, AxisRole.Kernel] : [AxisRole.Output];

    public override InitRule DefaultInit(LayerParameter parameter) => InitRule.Uniform(1 / Math.Sqrt(InChannels / Groups * KernelH * KernelW));

    /// <summary>The window of output position <paramref name="o"/> along spatial axis 0 (H) or 1 (W).</summary>
    public Window Window(int axis, long o) => axis == 0
        ? new Window((o * StrideH) - PaddingH, KernelH, DilationH)
        : new Window((o * StrideW) - PaddingW, KernelW, DilationW);

    /// <summary>floor((L + 2p - d(k-1) - 1) / s) + 1, as torch.nn.Conv2d documents, per spatial axis.</summary>
    public long OutputLength(int axis, long length) => axis == 0
        ? Windows.OutputLength(length, KernelH, StrideH, PaddingH, DilationH)
        : Windows.OutputLength(length, KernelW, StrideW, PaddingW, DilationW);

    public override IEnumerable<string> Problems()
    {
        var basic = Collect(
            Positive(InChannels, "in_channels"),
            Positive(OutChannels, "out_channels"),
            Positive(KernelH, "kernel_size[0]"),
            Positive(KernelW, "kernel_size[1]"),
            Positive(StrideH, "stride[0]"),
            Positive(StrideW, "stride[1]"),
            Positive(DilationH, "dilation[0]"),
            Positive(DilationW, "dilation[1]"),
            Positive(Groups, "groups")).ToList();
        if (basic.Count == 0 && (PaddingH < 0 || PaddingW < 0 || InChannels % Groups != 0 || OutChannels % Groups != 0))
        {
            basic.Add($"padding must be >= 0 and groups ({Groups}) must divide in_channels ({InChannels}) and out_channels ({OutChannels})");
        }

        return basic;
    }

    public override IEnumerable<LayerParameter> Parameters()
    {
        yield return new("weight", Shape.Of(OutChannels, InChannels / Groups, KernelH, KernelW), ParameterRole.Weight, false, "float32");
        if (Bias)
        {
            yield return new("bias", Shape.Of(OutChannels), ParameterRole.Bias, false, "float32");
        }
    }
}

/// <summary>
/// ConvTranspose1d over <c>[B, C, L]</c> or <c>[C, L]</c> and ConvTranspose2d over <c>[B, C, H, W]</c> or <c>[C, H, W]</c>
/// (the 1-D form is the 2-D one over a height of 1, its H fields 1 and 0); weight <c>[in, out/groups, (kh,) kw]</c>, so
/// the units (output channels) sit on axis 1. Input position i, tap k writes output position <c>i·s − p + k·d</c>: it
/// spreads positions and mixes the channels of a group, never other channels.
/// </summary>
public sealed record ConvTransposeSpec(
    int Dimensions,
    long InChannels,
    long OutChannels,
    long KernelH,
    long KernelW,
    long StrideH = 1,
    long StrideW = 1,
    long PaddingH = 0,
    long PaddingW = 0,
    long OutputPaddingH = 0,
    long OutputPaddingW = 0,
    long DilationH = 1,
    long DilationW = 1,
    long Groups = 1,
    bool Bias = true) : LayerSpec
{
    /// <summary>ConvTranspose1d(in, out, k, s, p, output_padding, d, groups, bias) as the 2-D record over a height of 1.</summary>
    public static ConvTransposeSpec OneD(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0, long outputPadding = 0, long dilation = 1, long groups = 1, bool bias = true) =>
        new(1, inChannels, outChannels, 1, kernel, 1, stride, 0, padding, 0, outputPadding, 1, dilation, groups, bias);

    public override string Kind => Dimensions == 1 ? "ConvTranspose1d" : "ConvTranspose2d";

    public override long? Units => OutChannels;

    public override long UnitGroups => Groups;

    public override int UnitAxis(LayerParameter parameter) => parameter.Role == ParameterRole.Weight ? 1 : 0;

    public override TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitConvTranspose(this, arg);

    public override AxisRole[] AxisRoles(LayerParameter parameter) =>
        parameter.Role != ParameterRole.Weight ? [AxisRole.Output]
        : Dimensions == 1 ? [AxisRole.Input, AxisRole.Output, AxisRole.Kernel]
        : [AxisRole.Input, AxisRole.Output, AxisRole.Kernel, AxisRole.Kernel];

    /// <summary>PyTorch's kaiming_uniform(a = √5) reads fan_in off the weight's axis 1: out/groups·kh·kw.</summary>
    public override InitRule DefaultInit(LayerParameter parameter) => InitRule.Uniform(1 / Math.Sqrt(OutChannels / Groups * KernelH * KernelW));

    private long Stride(int axis) => axis == 0 ? StrideH : StrideW;

    private long Padding(int axis) => axis == 0 ? PaddingH : PaddingW;

    private long Dilation(int axis) => axis == 0 ? DilationH : DilationW;

    private long Kernel(int axis) => axis == 0 ? KernelH : KernelW;

    /// <summary>(L − 1)·s − 2p + d·(k − 1) + output_padding + 1, as torch.nn.ConvTranspose2d documents, per spatial axis.</summary>
    public long OutputLength(int axis, long length) =>
        ((length - 1) * Stride(axis)) - (2 * Padding(axis)) + (Dilation(axis) * (Kernel(axis) - 1)) + (axis == 0 ? OutputPaddingH : OutputPaddingW) + 1;

    /// <summary>The input positions output position <paramref name="o"/> reads along spatial axis 0 (H) or 1 (W).</summary>
    public Window Window(int axis, long o) => Windows.Transposed(o, Kernel(axis), Stride(axis), Padding(axis), Dilation(axis));

    /// <summary>The input positions tap <paramref name="k"/> writes from into an output of <paramref name="outLength"/>, or null.</summary>
    public (long Start, long Count)? Taps(int axis, long k, long length, long outLength) =>
        Windows.TransposedTaps(k, length, outLength, Stride(axis), Padding(axis), Dilation(axis));

    public override IEnumerable<string> Problems()
    {
        if (Dimensions is not (1 or 2))
        {
            return [$"{Dimensions} spatial axes; expected 1 or 2"];
        }

        // Sizes, padding and groups are checked as for the forward convolution of the same arguments.
        var basic = new Conv2dSpec(InChannels, OutChannels, KernelH, KernelW, StrideH, StrideW, PaddingH, PaddingW, DilationH, DilationW, Groups, Bias).Problems().ToList();
        if (basic.Count > 0)
        {
            return basic;
        }

        // PyTorch: output padding must be smaller than either stride or dilation.
        if (OutputPaddingH < 0 || OutputPaddingW < 0 || OutputPaddingH >= Math.Max(StrideH, DilationH) || OutputPaddingW >= Math.Max(StrideW, DilationW))
        {
            basic.Add($"output_padding ({OutputPaddingH}, {OutputPaddingW}) must be >= 0 and smaller than stride or dilation");
        }

        if (Dimensions == 1 && (KernelH != 1 || StrideH != 1 || PaddingH != 0 || OutputPaddingH != 0 || DilationH != 1))
        {
            basic.Add("a 1-D transposed convolution has height fields 1 (kernel, stride, dilation) and 0 (padding, output padding)");
        }

        return basic;
    }

    public override IEnumerable<LayerParameter> Parameters()
    {
        yield return new(
            "weight",
            Dimensions == 1 ? Shape.Of(InChannels, OutChannels / Groups, KernelW) : Shape.Of(InChannels, OutChannels / Groups, KernelH, KernelW),
            ParameterRole.Weight,
            false,
            "float32");
        if (Bias)
        {
            yield return new("bias", Shape.Of(OutChannels), ParameterRole.Bias, false, "float32");
        }
    }
}

/// <summary>The input positions one output position reads: <c>Start + k·Step</c> for k in [0, Count), some maybe outside.</summary>
public readonly record struct Window(long Start, long Count, long Step);

/// <summary>Sliding-window arithmetic shared by convolutions and pooling.</summary>
public static class Windows
{
    /// <summary>floor((L + 2p - d(k-1) - 1) / s) + 1 (floor division: below 1 means the input is too short).</summary>
    public static long OutputLength(long length, long kernel, long stride, long padding, long dilation)
    {
        var numerator = length + (2 * padding) - (dilation * (kernel - 1)) - 1;
        return (numerator >= 0 ? numerator / stride : -((-numerator + stride - 1) / stride)) + 1;
    }

    /// <summary>Adaptive pooling's window of output <paramref name="o"/> of <paramref name="outputs"/>: [⌊oL/O⌋, ⌈(o+1)L/O⌉).</summary>
    public static Window Adaptive(long length, long outputs, long o)
    {
        var start = o * length / outputs;
        var end = (((o + 1) * length) + outputs - 1) / outputs;
        return new Window(start, end - start, 1);
    }

    /// <summary>The first and last k whose position <c>w.Start + k·w.Step</c> lies in [lo, hi), or null.</summary>
    public static (long First, long Last)? Clip(Window w, long lo, long hi)
    {
        var first = Math.Max(0, CeilDiv(lo - w.Start, w.Step));
        var last = Math.Min(w.Count - 1, FloorDiv(hi - 1 - w.Start, w.Step));
        return first <= last ? (first, last) : null;
    }

    /// <summary>
    /// A transposed convolution's inputs for output <paramref name="o"/>: the taps k with o + p − k·d divisible by s
    /// read input (o + p − k·d)/s. Successive valid taps are s/gcd(d, s) apart, so the inputs are evenly spaced.
    /// </summary>
    public static Window Transposed(long o, long kernel, long stride, long padding, long dilation)
    {
        for (long k = 0; k < Math.Min(kernel, stride); k++)
        {
            if ((o + padding - (k * dilation)) % stride == 0)
            {
                var tapStep = stride / Gcd(dilation, stride);
                var count = ((kernel - 1 - k) / tapStep) + 1;
                var lastTap = k + ((count - 1) * tapStep);
                return new Window((o + padding - (lastTap * dilation)) / stride, count, tapStep * dilation / stride);
            }
        }

        return new Window(0, 0, 1);
    }

    /// <summary>The inputs i in [0, length) whose tap k lands on an output i·s − p + k·d inside [0, outLength), or null.</summary>
    public static (long Start, long Count)? TransposedTaps(long k, long length, long outLength, long stride, long padding, long dilation)
    {
        var offset = (k * dilation) - padding;
        var first = Math.Max(0, CeilDiv(-offset, stride));
        var last = Math.Min(length - 1, FloorDiv(outLength - 1 - offset, stride));
        return first <= last ? (first, last - first + 1) : null;
    }

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    private static long CeilDiv(long a, long b) => -FloorDiv(-a, b);
}


/// <summary>How a tensor field was filled: torch.zeros/ones/randn/rand/empty/eye, or something else.</summary>
public enum TensorInit
{
    Zeros,
    Ones,
    Normal,
    Uniform,
    Eye,
    Other,
}

/// <summary>
/// A Parameter or buffer held directly by a module (an RMSNorm weight, a learned position table, a mask): one tensor
/// whose state_dict name is the module path itself. Forward reads it with a call of no operands, and the IR lets that
/// value meet data only in +, -, * and matmul, where the tracers know which elements meet which features.
/// </summary>
public sealed record TensorSpec(EquatableArray<long> Dims, bool IsBuffer = false, TensorInit Init = TensorInit.Other) : LayerSpec
{
    public override string Kind => "Tensor";

    public Shape Shape => new(Dims.Select(Dim.Of));

    public override TResult Accept<TArg, TResult>(ILayerVisitor<TArg, TResult> visitor, TArg arg) => visitor.VisitTensor(this, arg);

    public override AxisRole[] AxisRoles(LayerParameter parameter) => ElementwiseRoles(parameter);

    /// <summary>New elements start as the field's factory would make them where that is a constant (zeros, ones), else zero.</summary>
    public override InitRule DefaultInit(LayerParameter parameter) => Init switch
    {
        TensorInit.Ones => InitRule.Ones,
        TensorInit.Normal => InitRule.Normal(1),
        _ => InitRule.Zeros,
    };

    public override IEnumerable<string> Problems() =>
        Dims.Any(d => d < 1) ? [$"shape [{string.Join(", ", Dims)}] must have dimensions >= 1"] : [];

    public override IEnumerable<LayerParameter> Parameters()
    {
        yield return new(string.Empty, Shape, ParameterRole.Weight, IsBuffer, "float32");
    }
}
