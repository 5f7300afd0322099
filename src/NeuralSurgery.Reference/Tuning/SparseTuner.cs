using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Threading;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Reference;
using NeuralSurgery.Runtime.Reference.Training;

namespace NeuralSurgery.Runtime.Tuning;

/// <summary>The optimiser a <see cref="SparseTuner"/> run steps with.</summary>
public enum TuningOptimizer
{
    Sgd,
    Adam,
}

/// <summary>How one <see cref="SparseTuner.Tune"/> run tunes (paper 000 section 4).</summary>
public sealed record SparseTuningOptions
{
    public TuningMethod Method { get; init; } = TuningMethod.Full;

    /// <summary>n: the element budget of Sel-* and Dyn-*.</summary>
    public long N { get; init; }

    /// <summary>λ of the Lagrange method (γ = lr × λ).</summary>
    public double Lambda { get; init; }

    /// <summary>
    /// Elements that may change at all (e.g. those Φ ties to new features, or those a plan initialised); every other
    /// element keeps w_i exactly. Selections are drawn from it; null lets every parameter element change.
    /// </summary>
    public ParameterMask? Among { get; init; }

    public TuningOptimizer Optimizer { get; init; } = TuningOptimizer.Adam;

    public double LearningRate { get; init; } = 1e-3;

    public TrainingOptions Training { get; init; } = new();

    /// <summary>Algorithm 1's K_start, K_every, α and η for Dyn-*; null picks a schedule from the step count.</summary>
    public DynamicOptions? Dynamic { get; init; }

    /// <summary>Steps of the RK4 path integral of Sel-LCA (eq. 10).</summary>
    public int LcaSteps { get; init; } = 3;

    /// <summary>Batch size of loss evaluations and of the mean gradient of Sel-Grad and Sel-LCA.</summary>
    public int EvaluationBatchSize { get; init; } = 256;
}

/// <summary>Where a run is: its phase ("reference", "select", "tune"), and the trainer's progress within it.</summary>
public sealed record SparseTuningProgress(string Phase, TrainingProgress? Training);

/// <summary>
/// What a run did: the training loss before and after (eval mode, over the whole data), the elements that changed
/// out of all parameter elements, the size of the set allowed to change, and the elements that changed outside it
/// (zero unless a hook is broken: masked elements must never move).
/// </summary>
public sealed record SparseTuningResult(
    TuningMethod Method,
    double LossBefore,
    double LossAfter,
    long ChangedElements,
    long TotalElements,
    long AllowedElements,
    long ChangedOutsideAllowed,
    ParameterMask Changed,
    ParameterMask Allowed);

/// <summary>
/// Runs one sparse-tuning method of paper 000 end to end on a <see cref="ReferenceModel"/>: the general form of what
/// <see cref="PatternTask.Tune"/> does for the synthetic task, over any graph and data set. Sel-Δ and Sel-LCA first
/// tune a copy with the baseline (full tuning inside <see cref="SparseTuningOptions.Among"/>) for w_r.
/// </summary>
public static class SparseTuner
{
    /// <summary>Tunes <paramref name="model"/> in place and reports what changed.</summary>
    public static SparseTuningResult Tune(
        ReferenceModel model,
        ITrainingData data,
        LossFunction loss,
        SparseTuningOptions options,
        IProgress<SparseTuningProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(options);
        var wi = WeightSnapshot.Of(model.Parameters);
        var among = options.Among is null ? null : Normalise(options.Among, wi);
        var room = among?.Count() ?? TotalElements(wi);
        if (options.Method is not (TuningMethod.Full or TuningMethod.Lagrange) && (options.N < 1 || options.N > room))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.N,
                $"n must lie in [1, {room}], the elements that may change{(among is null ? string.Empty : " (the restricting mask)")}; got {options.N}.");
        }

        var evaluator = new Trainer(model, new Sgd(model.Parameters, 0), loss);
        var before = evaluator.Evaluate(data, options.EvaluationBatchSize, cancellationToken);
        var optimizer = CreateOptimizer(model, options);
        ParameterMask allowed;
        DynamicSurgery? dyn = null;

        // The restriction runs first: later hooks see masked gradients and frozen elements already back at w_i, so
        // Lagrange never moves them and Dyn-*'s indicators stay zero there.
        if (among is not null && options.Method is TuningMethod.Full or TuningMethod.Lagrange or TuningMethod.DynDelta or TuningMethod.DynGrad)
        {
            optimizer.Hooks.Add(new MaskHook(among, wi));
        }

        switch (options.Method)
        {
            case TuningMethod.Full:
                allowed = among ?? All(wi);
                break;
            case TuningMethod.Lagrange:
                optimizer.Hooks.Add(new LagrangeHook(optimizer, wi, options.Lambda));
                allowed = among ?? All(wi);
                break;
            case TuningMethod.DynDelta:
            case TuningMethod.DynGrad:
                dyn = new DynamicSurgery(model.Parameters, wi, DynamicFor(options, data.Count));
                optimizer.Hooks.Add(dyn);
                allowed = dyn.Allowed;
                break;
            default:
                allowed = Select(model, data, loss, options, wi, among, progress, cancellationToken);
                optimizer.Hooks.Add(new MaskHook(allowed, wi));
                break;
        }

        var trainer = new Trainer(model, optimizer, loss);
        trainer.Fit(data, options.Training, Report(progress, "tune"), cancellationToken);
        if (dyn is not null)
        {
            // Algorithm 1 reaches n only on its schedule; a short run still ends with exactly n allowed.
            dyn.Finish();
            allowed = among is null ? dyn.Allowed : ParameterMask.Intersection(dyn.Allowed, among);
        }

        var after = evaluator.Evaluate(data, options.EvaluationBatchSize, cancellationToken);
        var changed = Changes.Of(model.Parameters, wi);
        var outside = changed.Clone().ExceptWith(allowed).Count();
        return new SparseTuningResult(options.Method, before, after, changed.Count(), TotalElements(wi), allowed.Count(), outside, changed, allowed);
    }

    /// <summary>
    /// A copy of <paramref name="source"/> (every tensor, the metadata, the order) with the model's parameters and
    /// buffers written back in the source's dtypes, so that the result differs from the source only where tuning
    /// changed values and a sparse patch against the source holds just those elements. float32 values are rounded
    /// to a float16, bfloat16 or float64 source's dtype; counters (num_batches_tracked) keep an integer dtype.
    /// </summary>
    public static StateDict WriteBack(StateDict source, ReferenceModel model)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(model);
        var result = StateDict.From(source);
        var tuned = model.ToStateDict();
        foreach (var t in tuned.Tensors)
        {
            var original = result.Find(t.Name) ?? throw new ArgumentException($"Tensor '{t.Name}' of the model is missing from the source checkpoint.", nameof(source));
            if (original.ElementCount != t.ElementCount)
            {
                throw new ArgumentException($"Tensor '{t.Name}' has {original.ElementCount} elements in the source and {t.ElementCount} in the model.", nameof(source));
            }

            if (original.DType == t.DType)
            {
                result.Replace(original, tuned.GetData(t.Name));
                continue;
            }

            if (t.DType != DType.Float32 || !original.DType.IsFloatingPoint())
            {
                // A counter stored in another integer dtype, or a float tensor held as integers: left as it was.
                continue;
            }

            var values = tuned.Float32(t.Name);
            var bytes = new byte[original.ByteLength];
            for (var i = 0; i < values.Length; i++)
            {
                switch (original.DType)
                {
                    case DType.Float64:
                        BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
                        break;
                    case DType.Float16:
                        BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
                        break;
                    default:
                        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), ToBFloat16(values[i]));
                        break;
                }
            }

            result.Replace(original, bytes);
        }

        return result;
    }

    /// <summary>float32 to bfloat16 with round-to-nearest-even, as torch's conversion rounds (NaN kept a NaN).</summary>
    private static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    private static ParameterMask Select(
        ReferenceModel model,
        ITrainingData data,
        LossFunction loss,
        SparseTuningOptions options,
        WeightSnapshot wi,
        ParameterMask? among,
        IProgress<SparseTuningProgress>? progress,
        CancellationToken cancellationToken)
    {
        WeightSnapshot Gradient(ReferenceModel m) => GradientEstimate.Mean(m, data, loss, options.EvaluationBatchSize, cancellationToken);
        switch (options.Method)
        {
            case TuningMethod.SelRand:
                return Selection.Random(wi, options.N, options.Training.Seed, among);
            case TuningMethod.SelGrad:
                progress?.Report(new SparseTuningProgress("select", null));
                return Selection.ByGradient(Gradient(model), options.N, among);
            case TuningMethod.SelDelta:
            case TuningMethod.SelLca:
                var reference = Reference(model, data, loss, options, wi, among, progress, cancellationToken);
                progress?.Report(new SparseTuningProgress("select", null));
                return options.Method == TuningMethod.SelDelta
                    ? Selection.ByDelta(wi, reference, options.N, among)
                    : Selection.ByLca(model, wi, reference, Gradient, options.LcaSteps, options.N, among);
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Method, "Not a selecting method.");
        }
    }

    /// <summary>w_r: a copy tuned by the baseline, full tuning (inside the restriction), with the same schedule.</summary>
    private static WeightSnapshot Reference(
        ReferenceModel model,
        ITrainingData data,
        LossFunction loss,
        SparseTuningOptions options,
        WeightSnapshot wi,
        ParameterMask? among,
        IProgress<SparseTuningProgress>? progress,
        CancellationToken cancellationToken)
    {
        // A separate model, so buffers that train mode moves (BatchNorm statistics) stay as they were in the model.
        var copy = ReferenceModel.Load(model.Graph, model.ToStateDict());
        copy.DropoutSeed = model.DropoutSeed;
        var optimizer = CreateOptimizer(copy, options);
        if (among is not null)
        {
            optimizer.Hooks.Add(new MaskHook(among, wi));
        }

        new Trainer(copy, optimizer, loss).Fit(data, options.Training, Report(progress, "reference"), cancellationToken);
        return WeightSnapshot.Of(copy.Parameters);
    }

    private static Optimizer CreateOptimizer(ReferenceModel model, SparseTuningOptions options) => options.Optimizer switch
    {
        TuningOptimizer.Sgd => new Sgd(model.Parameters, options.LearningRate),
        _ => new Adam(model.Parameters, options.LearningRate),
    };

    /// <summary>
    /// The caller's K_start, K_every, α and η, or PatternTask's schedule: deletions from a tenth of the run (at
    /// least step 10), every 5 steps, α 0.9, η 0.3, so |S| shrinks geometrically well before the run ends.
    /// </summary>
    private static DynamicOptions DynamicFor(SparseTuningOptions options, int samples)
    {
        var t = options.Training;
        var perEpoch = t.DropLast ? samples / t.BatchSize : (samples + t.BatchSize - 1) / t.BatchSize;
        var steps = (long)perEpoch * t.Epochs;
        var schedule = options.Dynamic ?? new DynamicOptions
        {
            N = options.N,
            KStart = (int)Math.Min(int.MaxValue, Math.Max(10, steps / 10)),
            KEvery = 5,
            Alpha = 0.9,
            Eta = 0.3,
        };
        return schedule with
        {
            N = options.N,
            Indicator = options.Method == TuningMethod.DynDelta ? DynamicIndicator.Delta : DynamicIndicator.Gradient,
        };
    }

    private static IProgress<TrainingProgress>? Report(IProgress<SparseTuningProgress>? progress, string phase) =>
        progress is null ? null : new Forward(p => progress.Report(new SparseTuningProgress(phase, p)));

    /// <summary>The restriction over exactly the model's parameters (a plan's mask lists its tensors in plan order).</summary>
    private static ParameterMask Normalise(ParameterMask among, WeightSnapshot wi)
    {
        var mask = wi.EmptyMask();
        foreach (var (name, values) in wi)
        {
            if (!among.Contains(name))
            {
                continue;
            }

            if (among.LengthOf(name) != values.LongLength)
            {
                throw new ArgumentException($"The restricting mask holds {among.LengthOf(name)} elements for parameter '{name}'; the model has {values.LongLength}.", nameof(among));
            }

            among.WordsOf(name).CopyTo(mask.WordsOf(name), 0);
        }

        return mask;
    }

    private static ParameterMask All(WeightSnapshot wi)
    {
        var mask = wi.EmptyMask();
        mask.SetAll(true);
        return mask;
    }

    private static long TotalElements(WeightSnapshot wi)
    {
        long total = 0;
        foreach (var (_, v) in wi)
        {
            total += v.LongLength;
        }

        return total;
    }

    /// <summary>Reports on the trainer's thread (<see cref="Progress{T}"/> would post to the thread pool).</summary>
    private sealed class Forward(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
