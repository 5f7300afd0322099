using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Plan;

public enum InitKind
{
    Zeros,
    Ones,
    Constant,

    /// <summary>U(-Value, Value).</summary>
    Uniform,

    /// <summary>N(0, Value²).</summary>
    Normal,
}

/// <summary>How the runtime fills elements a plan does not copy; seeded by the runtime for reproducibility.</summary>
public sealed record InitRule(InitKind Kind, double Value = 0)
{
    public static InitRule Zeros { get; } = new(InitKind.Zeros);

    public static InitRule Ones { get; } = new(InitKind.Ones);

    public static InitRule Constant(double value) => new(InitKind.Constant, value);

    public static InitRule Uniform(double bound) => new(InitKind.Uniform, bound);

    public static InitRule Normal(double std) => new(InitKind.Normal, std);

    public override string ToString() => Kind switch
    {
        InitKind.Zeros => "zeros",
        InitKind.Ones => "ones",
        InitKind.Constant => "constant(" + Value.ToString("R", CultureInfo.InvariantCulture) + ")",
        InitKind.Uniform => "uniform(-" + Value.ToString("R", CultureInfo.InvariantCulture) + ", " + Value.ToString("R", CultureInfo.InvariantCulture) + ")",
        _ => "normal(0, std " + Value.ToString("R", CultureInfo.InvariantCulture) + ")",
    };
}

/// <summary>What an axis of a parameter is to its layer, which fixes how its new indices are initialised.</summary>
public enum AxisRole
{
    /// <summary>The layer's own output units (rows, gate blocks, embedding dims): new ones get the layer's default init.</summary>
    Output,

    /// <summary>Indices fed by features or upstream units (columns, embedding rows): new ones are zero, so outputs do not change.</summary>
    Input,

    /// <summary>Follows the features it normalises or scales (LayerNorm, BatchNorm1d): new ones get the default.</summary>
    Elementwise,

    /// <summary>Kernel taps: positional.</summary>
    Kernel,
}

/// <summary>A run of target indices <c>[Start, Start + Length)</c> copying source <c>[SourceStart, …)</c>, or none when SourceStart is -1.</summary>
public sealed record AxisSegment(long Start, long Length, long SourceStart)
{
    public bool IsMapped => SourceStart >= 0;
}

/// <summary>The index map of one axis of a target tensor, run-length encoded.</summary>
public sealed record AxisMap(AxisRole Role, long Length, long SourceLength, EquatableArray<AxisSegment> Segments, InitRule Unmapped)
{
    public long MappedCount => Segments.Where(s => s.IsMapped).Sum(s => s.Length);

    /// <summary>Every target index i reads source index i, and the lengths agree: the axis is copied as it is.</summary>
    public bool IsIdentity => Segments.Count == 1 && Segments[0].SourceStart == 0 && Length == SourceLength;

    /// <summary>Source index of target index <paramref name="index"/>, or -1 (binary search over the segments).</summary>
    public long SourceIndex(long index)
    {
        int lo = 0, hi = Segments.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >> 1;
            var s = Segments[mid];
            if (index < s.Start)
            {
                hi = mid - 1;
            }
            else if (index >= s.Start + s.Length)
            {
                lo = mid + 1;
            }
            else
            {
                return s.IsMapped ? s.SourceStart + (index - s.Start) : -1;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(index), $"index {index} is outside an axis of length {Length}");
    }

    /// <summary>Run-length encodes a per-index map (-1 for none).</summary>
    public static EquatableArray<AxisSegment> Encode(IReadOnlyList<long> map)
    {
        var segments = new List<AxisSegment>();
        var i = 0;
        while (i < map.Count)
        {
            var start = i;
            var source = map[i];
            i++;
            while (i < map.Count && (source < 0 ? map[i] < 0 : map[i] == source + (i - start)))
            {
                i++;
            }

            segments.Add(new AxisSegment(start, i - start, source < 0 ? -1 : source));
        }

        return segments.ToEquatableArray();
    }
}

/// <summary>
/// How one target state_dict entry is produced (DESIGN.md section 6): copied from <see cref="Source"/> where
/// every axis maps, otherwise initialised by the rule of the first unmapped axis in <see cref="InitOrder"/>;
/// with no source at all, by <see cref="Init"/>.
/// </summary>
public sealed record TensorPlan(
    string Name,
    EquatableArray<long> Shape,
    string DType,
    bool IsBuffer,
    string? Source,
    EquatableArray<long> SourceShape,
    EquatableArray<AxisMap> Axes,
    EquatableArray<int> InitOrder,
    InitRule Init)
{
    public long TotalElements => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>
    /// Added to the tensor, element by element in row-major order, after it is copied and initialised; empty for none.
    /// Mean replacement writes the removed units' contribution into the next bias here (paper 002 eq. 1.6).
    /// </summary>
    public EquatableArray<double> Add { get; init; } = EquatableArray<double>.Empty;

    /// <summary>Elements copied: the product of every axis's mapped count.</summary>
    public long CopiedElements => Source is null ? 0 : Axes.Aggregate(1L, (acc, a) => acc * a.MappedCount);

    /// <summary>The rule for an element that is not copied, or null when it is copied.</summary>
    public InitRule? RuleFor(IReadOnlyList<long> index)
    {
        if (Source is null)
        {
            return Init;
        }

        foreach (var axis in InitOrder)
        {
            if (Axes[axis].SourceIndex(index[axis]) < 0)
            {
                return Axes[axis].Unmapped;
            }
        }

        return null;
    }
}

public enum DroppedKind
{
    /// <summary>An input feature (or some of its slots) of the old schema the new model no longer reads.</summary>
    Feature,

    /// <summary>A categorical value that left the vocabulary.</summary>
    CategoricalValue,

    /// <summary>An output feature (head row) that left.</summary>
    OutputFeature,

    /// <summary>Hidden units of a layer that was narrowed.</summary>
    Units,

    /// <summary>A whole old tensor with no counterpart.</summary>
    Parameter,
}

public sealed record LostElements(string Parameter, long Elements);

/// <summary>Something of the old model the new one loses, with the old parameter elements it takes along.</summary>
public sealed record DroppedItem(DroppedKind Kind, string Name, EquatableArray<LostElements> Parameters)
{
    public long Elements => Parameters.Sum(p => p.Elements);
}

/// <summary>Elements copied against the target's and the source's parameters (buffers are not counted).</summary>
public sealed record PlanTotals(long CopiedElements, long TargetElements, long SourceElements)
{
    /// <summary>Share of the new model's parameters that come from the old one.</summary>
    public double ShareOfTarget => TargetElements == 0 ? 1 : (double)CopiedElements / TargetElements;

    /// <summary>Share of the old model's parameters transferred: paper 001 Table 3's "params transferred".</summary>
    public double ShareOfSource => SourceElements == 0 ? 1 : (double)CopiedElements / SourceElements;
}

/// <summary>A model version named by its schema (or by its graph when there is no schema: version 0).</summary>
/// <param name="Model">The schema's model name (the graph's name without a schema).</param>
/// <param name="Version">The schema's version number.</param>
/// <param name="Fingerprint">
/// The graph fingerprint of that version (<see cref="Snapshots.ModelSnapshot.FingerprintOf"/>), when known: an executor
/// stamps its output with the target's and refuses a checkpoint stamped with another than the source's. Plans
/// written before fingerprints existed have none.
/// </param>
public sealed record ModelVersion(string Model, int Version, string? Fingerprint = null)
{
    public override string ToString() => Model + " v" + Version.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The same version: model and number equal, and the fingerprints too where both are known (a plan without
    /// fingerprints still chains with one that has them).
    /// </summary>
    public bool SameVersion(ModelVersion other) =>
        other is not null
        && string.Equals(Model, other.Model, StringComparison.Ordinal)
        && Version == other.Version
        && (Fingerprint is null || other.Fingerprint is null || string.Equals(Fingerprint, other.Fingerprint, StringComparison.Ordinal));
}

/// <summary>Old module path → new module path, for layers renamed between versions.</summary>
public sealed record ModuleRename(string From, string To);

/// <summary>New units chosen explicitly: unit <c>i</c> of key space <see cref="Space"/> (e.g. <c>fc1</c>, <c>lstm.l0</c>) copies old unit <c>Sources[i]</c> (-1 for new); gate blocks follow their hidden units.</summary>
public sealed record UnitMap(string Space, EquatableArray<long> Sources);

public sealed record PlanOptions
{
    public static PlanOptions Default { get; } = new();

    /// <summary>
    /// Options from their parts. For callers compiled against the netstandard2.0 build (the generator): its init
    /// accessors carry the polyfilled IsExternalInit, which does not bind to the net10.0 build's accessors.
    /// </summary>
    public static PlanOptions Create(double newOutputBias, EquatableArray<ModuleRename> moduleRenames, EquatableArray<UnitMap> unitMaps) =>
        new() { NewOutputBias = newOutputBias, ModuleRenames = moduleRenames, UnitMaps = unitMaps };

    /// <summary>Bias of new output-head rows (their weights are zero). For softmax heads a very negative value keeps old probabilities.</summary>
    public double NewOutputBias { get; init; }

    public EquatableArray<ModuleRename> ModuleRenames { get; init; } = EquatableArray<ModuleRename>.Empty;

    public EquatableArray<UnitMap> UnitMaps { get; init; } = EquatableArray<UnitMap>.Empty;
}

/// <summary>
/// The surgery map from one model version to the next (DESIGN.md section 6): per target tensor, its source,
/// per-axis index maps and init rules; totals; what the old model loses; notes on where outputs will change.
/// </summary>
public sealed record SurgeryPlan(
    ModelVersion From,
    ModelVersion To,
    PlanOptions Options,
    EquatableArray<TensorPlan> Tensors,
    PlanTotals Totals,
    EquatableArray<DroppedItem> Dropped,
    EquatableArray<string> Notes)
{
    public TensorPlan? FindTensor(string name) => Tensors.FirstOrDefault(t => t.Name == name);
}
