using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp;

/// <summary>
/// Surgery plans applied to live TorchSharp modules: from an old module into a new one on the new module's device
/// and dtype (copied elements are gathered with index_select on the device, never through host memory), or from an
/// old checkpoint file straight into a new module. Initialised elements take the file executor's seeded values
/// (<see cref="InitValues"/>), so on the CPU the result is bit for bit what <see cref="PlanExecutor"/> writes.
/// </summary>
public static class LiveSurgery
{
    /// <summary>
    /// Sets every state_dict entry of <paramref name="target"/> from the plan: copies from <paramref name="source"/>
    /// where the plan maps, the plan's init rules elsewhere. Everything is checked before anything is written: a
    /// tensor the plan needs that a module lacks, or a shape that disagrees, is a <see cref="PlanApplicationException"/>
    /// naming it, and the target is left untouched.
    /// </summary>
    public static void Apply(SurgeryPlan plan, nn.Module source, nn.Module target, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        if (ReferenceEquals(source, target))
        {
            // Remapped tensors would be gathered from values already overwritten: surgery never writes over its input.
            throw new ArgumentException($"the source and the target are the same module ({source.GetName()}); apply the plan into a new instance of the new model", nameof(target));
        }

        TorchSharpNative.EnsureLoaded();
        var from = source.state_dict();
        var to = target.state_dict();
        var problems = Check(plan, to, "target module " + target.GetName());
        foreach (var t in plan.Tensors.Where(t => t.Source is not null))
        {
            if (!from.TryGetValue(t.Source!, out var s))
            {
                problems.Add($"tensor '{t.Name}' copies '{t.Source}', which the source module {source.GetName()} does not have");
            }
            else if (!s.shape.SequenceEqual(t.SourceShape))
            {
                problems.Add($"tensor '{t.Name}' expects '{t.Source}' of shape [{string.Join(", ", t.SourceShape)}] but the source module has [{string.Join(", ", s.shape)}]");
            }
            else if (to.TryGetValue(t.Name, out var d) && s.is_floating_point() != d.is_floating_point())
            {
                problems.Add($"tensor '{t.Name}' is {d.dtype} in the target module but its source '{t.Source}' is {s.dtype}");
            }
        }

        if (problems.Count > 0)
        {
            throw new PlanApplicationException("source module " + source.GetName(), problems);
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var t in plan.Tensors)
        {
            var destination = to[t.Name];
            if (t.Source is not null && t.Axes.All(a => a.IsIdentity))
            {
                destination.copy_(from[t.Source]); // copied whole: one copy, as load_state_dict makes
            }
            else
            {
                using var value = Build(t, t.Source is null ? null : from[t.Source], destination, InitValues.TensorKey(seed, t.Name));
                destination.copy_(value);
            }

            AddPlanned(t, destination);
        }
    }

    /// <summary>
    /// Applies the plan to an old checkpoint (TorchSharp's format or safetensors) and loads the result into
    /// <paramref name="target"/>, without an intermediate file. Checked like TorchSharp's strict load: every entry of the
    /// target's state_dict must come out of the plan with its shape.
    /// </summary>
    public static void LoadInto(SurgeryPlan plan, string sourceCheckpoint, nn.Module target, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(target);
        TorchSharpNative.EnsureLoaded();
        var to = target.state_dict();
        var problems = Check(plan, to, "target module " + target.GetName());
        if (problems.Count > 0)
        {
            throw new PlanApplicationException(sourceCheckpoint, problems);
        }

        StateDict result;
        using (var reader = CheckpointReader.Open(sourceCheckpoint))
        {
            try
            {
                result = PlanExecutor.ApplyInMemory(plan, reader, seed);
            }
            catch (PlanApplicationException e) when (e.Problems.Count > 0)
            {
                throw new PlanApplicationException(sourceCheckpoint, e.Problems); // name the file, not "the in-memory state dict"
            }
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var info in result.Tensors)
        {
            var destination = to[info.Name];
            using var host = torch.empty(info.Shape.ToArray(), (ScalarType)info.DType.ScalarTypeCode());
            result.GetData(info.Name).AsSpan().CopyTo(host.bytes);
            destination.copy_(host);
        }
    }

    /// <summary>
    /// The plan's additions (mean replacement's bias terms), rounded to the destination's dtype and added in it, as the
    /// file executor does (<see cref="InitValues.AddTo"/>).
    /// </summary>
    private static void AddPlanned(TensorPlan t, Tensor destination)
    {
        if (t.Add.Count == 0)
        {
            return;
        }

        if (!destination.is_floating_point() || t.Add.Count != t.TotalElements)
        {
            throw new PlanApplicationException($"tensor '{t.Name}' ({destination.dtype}, {t.TotalElements} elements) has {t.Add.Count} values to add; expected one per element of a floating-point tensor");
        }

        using var addend = torch.tensor(t.Add.ToArray(), t.Shape.ToArray()).to(destination.dtype).to(destination.device);
        destination.add_(addend);
    }

    /// <summary>What keeps the plan from filling <paramref name="target"/> exactly (strict, as Module.load).</summary>
    private static List<string> Check(SurgeryPlan plan, Dictionary<string, Tensor> target, string name)
    {
        var problems = new List<string>();
        foreach (var t in plan.Tensors)
        {
            if (!target.TryGetValue(t.Name, out var d))
            {
                problems.Add($"the plan writes '{t.Name}', which the {name} does not have");
            }
            else if (!d.shape.SequenceEqual(t.Shape))
            {
                problems.Add($"the plan makes '{t.Name}' [{string.Join(", ", t.Shape)}] but the {name} has [{string.Join(", ", d.shape)}]");
            }
        }

        foreach (var key in target.Keys.Where(k => plan.FindTensor(k) is null))
        {
            problems.Add($"the {name} has '{key}', which the plan does not make (a plan for another model version?)");
        }

        return problems;
    }

    /// <summary>One target tensor on the destination's device and dtype: gathered copies, init values where unmapped.</summary>
    private static Tensor Build(TensorPlan t, Tensor? source, Tensor destination, ulong key)
    {
        var device = destination.device;
        var dtype = destination.dtype;
        var unmappedAnywhere = source is null || t.Axes.Any(a => a.MappedCount < a.Length);
        var init = unmappedAnywhere ? InitTensor(t, key, dtype, device) : null;
        if (source is null)
        {
            return init!;
        }

        var (gathered, mask) = Gather(t, source, device, dtype);
        return mask is null ? gathered : torch.where(mask, gathered, init!);
    }

    /// <summary>
    /// <paramref name="source"/> (shaped like the plan's source tensor) moved to the target's layout on the device:
    /// one index_select per remapped axis. Unmapped positions read index 0; <c>Mask</c> is true where every axis maps
    /// (null when all do), so the caller replaces the rest.
    /// </summary>
    internal static (Tensor Gathered, Tensor? Mask) Gather(TensorPlan t, Tensor source, Device device, ScalarType dtype)
    {
        var gathered = source.to(device).to_type(dtype);
        Tensor? mask = null;
        for (var a = 0; a < t.Axes.Count; a++)
        {
            var axis = t.Axes[a];
            if (axis.IsIdentity)
            {
                continue;
            }

            var indices = new long[axis.Length];
            var mapped = new bool[axis.Length];
            for (long i = 0; i < axis.Length; i++)
            {
                var s = axis.SourceIndex(i);
                indices[i] = Math.Max(s, 0);
                mapped[i] = s >= 0;
            }

            gathered = gathered.index_select(a, torch.tensor(indices, device: device));
            if (axis.MappedCount < axis.Length)
            {
                var shape = Enumerable.Repeat(1L, t.Axes.Count).ToArray();
                shape[a] = axis.Length;
                var axisMask = torch.tensor(mapped, device: device).reshape(shape);
                mask = mask is null ? axisMask : mask.logical_and(axisMask);
            }
        }

        return (gathered, mask);
    }

    /// <summary>
    /// The plan's init values for every element not copied (the rule of the first unmapped axis in the plan's init
    /// order, or the tensor's rule without a source), computed on the host exactly as the file executor computes them.
    /// </summary>
    private static Tensor InitTensor(TensorPlan t, ulong key, ScalarType dtype, Device device)
    {
        // Only the rules of axes that have unmapped positions ever apply.
        var rules = t.Source is null ? [t.Init] : t.InitOrder.Where(a => t.Axes[a].MappedCount < t.Axes[a].Length).Select(a => t.Axes[a].Unmapped).ToList();
        if (rules.All(r => r.Kind is InitKind.Zeros or InitKind.Ones or InitKind.Constant))
        {
            return ConstantInit(t, dtype, device);
        }

        var count = t.TotalElements;
        var shape = t.Shape.ToArray();
        var float32 = dtype == ScalarType.Float32;
        var integral = dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16);

        // float32 (the common case) is written as the file executor writes it, (float)value, into a float array:
        // half the host memory of doubles for a large widened tensor. Other dtypes go through doubles.
        var singles = float32 ? new float[count] : null;
        var doubles = float32 ? null : new double[count];
        var index = new long[shape.Length];
        for (long e = 0; e < count; e++)
        {
            var rem = e;
            for (var a = shape.Length - 1; a >= 0; a--)
            {
                index[a] = rem % shape[a];
                rem /= shape[a];
            }

            if (t.RuleFor(index) is not { } rule)
            {
                continue; // copied: the gather provides it
            }

            var value = InitValues.Value(rule, key, e);
            if (singles is not null)
            {
                singles[e] = (float)value;
            }
            else
            {
                doubles![e] = integral ? Math.Round(value) : value; // as InitValues.Write stores an integer element
            }
        }

        var host = singles is not null ? torch.tensor(singles, shape) : torch.tensor(doubles!, shape).to_type(dtype);
        return host.to(device);
    }

    /// <summary>
    /// Init values when every rule is a constant: built on the device, the rule of the first unmapped axis in the
    /// plan's init order winning (applied last). Same values as the host loop, without touching host memory.
    /// </summary>
    private static Tensor ConstantInit(TensorPlan t, ScalarType dtype, Device device)
    {
        static double Constant(InitRule rule) => rule.Kind switch
        {
            InitKind.Zeros => 0,
            InitKind.Ones => 1,
            _ => rule.Value,
        };

        var shape = t.Shape.ToArray();
        var integral = dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16);
        double Cast(double v) => integral ? Math.Round(v) : dtype == ScalarType.Float32 ? (float)v : v;
        if (t.Source is null)
        {
            return torch.full(shape, Cast(Constant(t.Init)), dtype, device);
        }

        var init = torch.zeros(shape, dtype, device);
        foreach (var a in t.InitOrder.Reverse())
        {
            var axis = t.Axes[a];
            if (axis.MappedCount == axis.Length)
            {
                continue;
            }

            var unmapped = new bool[axis.Length];
            for (long i = 0; i < axis.Length; i++)
            {
                unmapped[i] = axis.SourceIndex(i) < 0;
            }

            var view = Enumerable.Repeat(1L, shape.Length).ToArray();
            view[a] = axis.Length;
            init = torch.where(torch.tensor(unmapped, device: device).reshape(view), Cast(Constant(axis.Unmapped)), init);
        }

        return init;
    }
}
