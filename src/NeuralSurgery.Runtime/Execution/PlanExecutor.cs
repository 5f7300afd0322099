using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using NeuralSurgery.IO;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Runtime.Execution;

public sealed record ApplyOptions
{
    /// <summary>Seed of the initialised elements (<see cref="InitValues"/>).</summary>
    public int Seed { get; init; }

    /// <summary>Replace an existing target; without it an existing file is refused.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Output format; by default from the target's extension.</summary>
    public CheckpointFormat? Format { get; init; }

    /// <summary>Tensors written so far, the same report a checkpoint conversion gives.</summary>
    public IProgress<CheckpointProgress>? Progress { get; init; }

    public CancellationToken Cancellation { get; init; }

    /// <summary>
    /// The model version the output is of, stamped into its metadata (<see cref="CheckpointStamp"/>). By default the
    /// plan's target, when the plan knows its fingerprint and a version number from 1.
    /// </summary>
    public CheckpointStamp? Stamp { get; init; }

    /// <summary>
    /// Apply the plan to a checkpoint stamped as another version than the plan's source. Off by default: names and
    /// shapes can agree across versions (a reorder keeps every shape), and then the plan would silently move the wrong
    /// weights.
    /// </summary>
    public bool IgnoreSourceStamp { get; init; }

    /// <summary><paramref name="options"/> (or the defaults) with <paramref name="stamp"/>: for generated code, which compiles from C# 8 (no <c>with</c>).</summary>
    public static ApplyOptions Stamped(ApplyOptions? options, CheckpointStamp stamp) => (options ?? new ApplyOptions()) with { Stamp = stamp };
}

/// <summary>
/// Applies a <see cref="SurgeryPlan"/> to a checkpoint (DESIGN.md section 9): per target tensor, a gather along
/// every axis with one block copy per mapped run of the last axis, and the plan's init rules elsewhere. Tensors
/// copied whole stream through without a buffer; the others are built in parallel under a memory budget and
/// written in state_dict order. Everything is validated before anything is written; the output goes to a
/// temporary file renamed into place, and the source is never opened for writing.
/// </summary>
public static class PlanExecutor
{
    /// <summary>Metadata keys the written checkpoint carries (safetensors __metadata__, TorchSharp sidecar).</summary>
    public const string PlanHashKey = "neuralsurgery.plan_sha256";
    public const string FromKey = "neuralsurgery.from";
    public const string ToKey = "neuralsurgery.to";
    public const string SeedKey = "neuralsurgery.seed";

    /// <summary>Applies the plan to the checkpoint at <paramref name="sourcePath"/> and writes <paramref name="targetPath"/>.</summary>
    public static void Apply(SurgeryPlan plan, string sourcePath, string targetPath, ApplyOptions? options = null)
    {
        options ??= new ApplyOptions();
        using var reader = OpenSource(sourcePath, targetPath, options);
        Apply(plan, reader, targetPath, options);
    }

    /// <summary>Opens the source checkpoint after the file rules: the target is no input, and exists only with Overwrite.</summary>
    internal static CheckpointReader OpenSource(string sourcePath, string targetPath, ApplyOptions options)
    {
        var reader = CheckpointReader.Open(sourcePath);
        try
        {
            new CommandFiles()
                .Input("the source checkpoint", reader)
                .Output("the target", targetPath, options.Format ?? CheckpointFormats.FromPath(targetPath))
                .Check(options.Overwrite);
            return reader;
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>Applies the plan to any tensor source (a checkpoint or an in-memory state dict) and writes a checkpoint.</summary>
    public static void Apply(SurgeryPlan plan, ITensorSource source, string targetPath, ApplyOptions? options = null)
    {
        options ??= new ApplyOptions();
        var sourceName = (source as CheckpointReader)?.Path ?? "the source state dict";
        CheckSourceStamp(plan, source, sourceName, options.IgnoreSourceStamp);
        var jobs = Prepare(plan, source, sourceName);
        var metadata = Metadata(plan, options.Seed, options.Stamp);

        var format = options.Format ?? CheckpointFormats.FromPath(targetPath);
        using var writer = CheckpointWriter.Create(targetPath, format, jobs.Select(j => j.Target).ToList(), metadata, options.Overwrite);
        Run(jobs, source, options, (job, data) =>
        {
            if (data is { } bytes)
            {
                writer.WriteTensor(job.Target.Name, bytes);
            }
            else
            {
                writer.CopyTensor(job.Target.Name, source, job.Source!);
            }
        });
        writer.Commit();
    }

    /// <summary>Applies the plan in memory; the result's metadata carries the plan's target stamp (see <see cref="ApplyOptions.Stamp"/>).</summary>
    public static StateDict ApplyInMemory(SurgeryPlan plan, ITensorSource source, int seed = 0, bool ignoreSourceStamp = false)
    {
        var sourceName = (source as CheckpointReader)?.Path ?? "in-memory state dict";
        CheckSourceStamp(plan, source, sourceName, ignoreSourceStamp);
        var jobs = Prepare(plan, source, sourceName);
        var result = new StateDict();
        foreach (var kv in Metadata(plan, seed, null))
        {
            result.Metadata[kv.Key] = kv.Value;
        }

        // Buffers are pooled: the state dict gets its own copy of each.
        Run(jobs, source, new ApplyOptions { Seed = seed }, (job, data) => result.Add(job.Target, data?.ToArray() ?? source.ReadAll(job.Source!)));
        return result;
    }

    /// <summary>
    /// Checks that every tensor the plan copies exists in the source with the shape the plan expects and a dtype
    /// the target can take. Returns the problems (empty when the plan applies).
    /// </summary>
    public static IReadOnlyList<string> Validate(SurgeryPlan plan, ITensorSource source)
    {
        var problems = new List<string>();
        Prepare(plan, source, problems);
        return problems;
    }

    /// <summary>SHA-256 of the plan's JSON form: the checkpoint records which plan made it.</summary>
    public static string PlanHash(SurgeryPlan plan) => Convert.ToHexStringLower(SHA256.HashData(PlanJson.WriteUtf8(plan)));

    private static Dictionary<string, string> Metadata(SurgeryPlan plan, int seed, CheckpointStamp? stamp)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [PlanHashKey] = PlanHash(plan),
            [FromKey] = plan.From.ToString(),
            [ToKey] = plan.To.ToString(),
            [SeedKey] = seed.ToString(CultureInfo.InvariantCulture),
        };
        if ((stamp ?? TargetStamp(plan)) is { } written)
        {
            foreach (var entry in written.ToMetadata())
            {
                metadata[entry.Key] = entry.Value;
            }
        }

        return metadata;
    }

    /// <summary>The stamp of the plan's target version, when the plan knows its fingerprint (issue 13: every checkpoint our writers make says what it is).</summary>
    public static CheckpointStamp? TargetStamp(SurgeryPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return plan.To is { Fingerprint: { } fingerprint, Version: >= 1 } to ? new CheckpointStamp(to.Model, to.Version, fingerprint) : null;
    }

    /// <summary>
    /// A source stamped as another model version than the plan starts from is refused before anything is read: its
    /// names and shapes may still fit (a reorder keeps every shape), and the plan would move the wrong weights.
    /// </summary>
    internal static void CheckSourceStamp(SurgeryPlan plan, ITensorSource source, string sourceName, bool ignore)
    {
        if (ignore || plan.From.Fingerprint is not { } expected || CheckpointStamp.Read(source.Metadata, sourceName) is not { } stamp)
        {
            return;
        }

        if (!string.Equals(stamp.Fingerprint, expected, StringComparison.Ordinal))
        {
            throw new PlanApplicationException(
                sourceName,
                [$"it is stamped as {stamp.Model} v{stamp.Version} (graph fingerprint {Short(stamp.Fingerprint)}), but the plan starts from {plan.From} "
                 + $"(fingerprint {Short(expected)}); apply the plan made for the checkpoint's version (or upgrade it along the chain first), "
                 + "or ignore the stamp if you know it is wrong"]);
        }
    }

    private static string Short(string fingerprint) => fingerprint.Length > 12 ? fingerprint[..12] : fingerprint;

    internal sealed record Job(TensorPlan Plan, TensorInfo Target, TensorInfo? Source, bool WholeCopy);

    private static List<Job> Prepare(SurgeryPlan plan, ITensorSource source, string sourceName)
    {
        var problems = new List<string>();
        var jobs = Prepare(plan, source, problems);
        if (problems.Count > 0)
        {
            throw new PlanApplicationException(sourceName, problems);
        }

        return jobs;
    }

    private static List<Job> Prepare(SurgeryPlan plan, ITensorSource source, List<string> problems)
    {
        // New float tensors follow the checkpoint's float dtype (a model trained in half precision stays half).
        var floatDType = source.Tensors.Select(t => t.DType).Where(d => d.IsFloatingPoint()).DefaultIfEmpty(DType.Float32).First();
        var jobs = new List<Job>();
        foreach (var t in plan.Tensors)
        {
            if (!DTypes.TryFromIrName(t.DType, out var planned))
            {
                problems.Add($"tensor '{t.Name}' has dtype '{t.DType}', which no checkpoint format stores");
                continue;
            }

            TensorInfo? src = null;
            var dtype = planned.IsFloatingPoint() ? floatDType : planned;
            if (t.Source is not null)
            {
                src = source.Find(t.Source);
                if (src is null)
                {
                    problems.Add($"tensor '{t.Name}' copies '{t.Source}', which the source does not have");
                    continue;
                }

                if (!src.Shape.SequenceEqual(t.SourceShape))
                {
                    problems.Add($"tensor '{t.Name}' expects '{t.Source}' of shape [{string.Join(", ", t.SourceShape)}] but the source has [{string.Join(", ", src.Shape)}]");
                    continue;
                }

                if (src.DType.IsFloatingPoint() != planned.IsFloatingPoint())
                {
                    problems.Add($"tensor '{t.Name}' expects a {t.DType} '{t.Source}' but the source has {src.DType.IrName()}");
                    continue;
                }

                dtype = src.DType;
            }

            if (!dtype.IsFloatingPoint() && Rules(t).Any(r => r.Kind is InitKind.Uniform or InitKind.Normal))
            {
                problems.Add($"tensor '{t.Name}' is {dtype.IrName()} but the plan initialises some of it at random");
                continue;
            }

            if (t.Add.Count > 0 && (!dtype.IsFloatingPoint() || t.Add.Count != t.TotalElements || t.Add.Any(v => !double.IsFinite(v))))
            {
                problems.Add($"tensor '{t.Name}' ({dtype.IrName()}, {t.TotalElements} elements) has {t.Add.Count} values to add; expected one finite value per element of a floating-point tensor");
                continue;
            }

            var whole = src is not null && t.Axes.All(a => a.IsIdentity) && t.Add.Count == 0;
            jobs.Add(new Job(t, TensorInfo.Create(t.Name, dtype, t.Shape.ToArray()), src, whole));
        }

        return jobs;
    }

    private static IEnumerable<InitRule> Rules(TensorPlan t) => t.Source is null ? [t.Init] : t.Axes.Where(a => a.MappedCount < a.Length).Select(a => a.Unmapped);

    /// <summary>
    /// Builds tensors in parallel with at most max(largest tensor, 64 MiB) of buffers in flight and hands them to
    /// <paramref name="write"/> in plan order (null data: copy the source tensor whole).
    /// </summary>
    private static void Run(List<Job> jobs, ITensorSource source, ApplyOptions options, Action<Job, ArraySegment<byte>?> write)
    {
        var budget = new ByteBudget(Math.Max(jobs.Where(j => !j.WholeCopy).Select(j => j.Target.ByteLength).DefaultIfEmpty(0).Max(), 64L << 20));
        var tasks = new Task<byte[]>?[jobs.Count];
        var buffers = new BufferPool(budget.Capacity);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(options.Cancellation);
        var producer = Task.Run(
            () =>
            {
                for (var i = 0; i < jobs.Count && !stop.IsCancellationRequested; i++)
                {
                    var job = jobs[i];
                    if (job.WholeCopy)
                    {
                        continue;
                    }

                    budget.Acquire(job.Target.ByteLength, stop.Token);
                    lock (tasks)
                    {
                        tasks[i] = Task.Run(() => Gather(job, source, InitValues.TensorKey(options.Seed, job.Target.Name), buffers), stop.Token);
                        Monitor.PulseAll(tasks);
                    }
                }
            },
            stop.Token);

        long done = 0;
        var total = jobs.Sum(j => j.Target.ByteLength);
        try
        {
            for (var i = 0; i < jobs.Count; i++)
            {
                options.Cancellation.ThrowIfCancellationRequested();
                var job = jobs[i];
                if (job.WholeCopy)
                {
                    write(job, null);
                }
                else
                {
                    Task<byte[]> task;
                    lock (tasks)
                    {
                        while (tasks[i] is null)
                        {
                            if (producer.IsCompleted)
                            {
                                producer.GetAwaiter().GetResult();
                                throw new OperationCanceledException(options.Cancellation);
                            }

                            Monitor.Wait(tasks, 50);
                        }

                        task = tasks[i]!;
                    }

                    var data = task.GetAwaiter().GetResult();
                    write(job, new ArraySegment<byte>(data, 0, (int)job.Target.ByteLength));
                    tasks[i] = null;
                    buffers.Return(data);
                    budget.Release(job.Target.ByteLength);
                }

                done += job.Target.ByteLength;
                options.Progress?.Report(new CheckpointProgress(i + 1, jobs.Count, job.Target.Name, done, total));
            }
        }
        finally
        {
            stop.Cancel();
            budget.Cancel();
            try
            {
                producer.Wait();
            }
            catch (AggregateException)
            {
                // The producer only stops early because we asked it to; the first error is already propagating.
            }
        }
    }

    /// <summary>
    /// One target tensor: per row (all axes but the last), the source row when every leading axis maps, then per
    /// run of the last axis a block copy or the rule of the first unmapped axis in the plan's init order.
    /// </summary>
    internal static byte[] Gather(Job job, ITensorSource source, ulong key, BufferPool buffers)
    {
        var t = job.Plan;
        var info = job.Target;
        var size = info.DType.ElementSize();
        if (info.ByteLength > Array.MaxLength)
        {
            throw new PlanApplicationException($"tensor '{info.Name}' needs {info.ByteLength} bytes, more than one buffer holds; split it or copy it unchanged");
        }

        var data = buffers.Rent(info.ByteLength);
        var rank = t.Shape.Count;
        if (rank == 0)
        {
            if (job.Source is not null)
            {
                source.Read(job.Source, 0, data);
            }
            else
            {
                InitValues.Write(InitValues.Value(t.Init, key, 0), info.DType, data);
            }

            InitValues.AddTo(t.Add, info.DType, data.AsSpan(0, size));
            return data;
        }

        var shape = t.Shape.ToArray();
        var sourceStrides = new long[rank];
        if (job.Source is not null)
        {
            long stride = 1;
            for (var a = rank - 1; a >= 0; a--)
            {
                sourceStrides[a] = stride;
                stride *= t.SourceShape[a];
            }
        }

        var initOrder = t.InitOrder.ToArray();
        try
        {
            GatherRows(job, source, key, data, shape, sourceStrides, initOrder);
            InitValues.AddTo(t.Add, info.DType, data.AsSpan(0, (int)info.ByteLength));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Surface the first real error (a read error names the checkpoint and tensor), not the wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }

        return data;
    }

    private static void GatherRows(Job job, ITensorSource source, ulong key, byte[] data, long[] shape, long[] sourceStrides, int[] initOrder)
    {
        var t = job.Plan;
        var info = job.Target;
        var size = info.DType.ElementSize();
        var rank = shape.Length;
        var last = shape[rank - 1];
        var rows = info.ElementCount / Math.Max(last, 1);
        Parallel.For(0, (int)Math.Min(rows, Environment.ProcessorCount * 4L), chunk =>
        {
            var parts = (int)Math.Min(rows, Environment.ProcessorCount * 4L);
            var begin = rows * chunk / parts;
            var end = rows * (chunk + 1) / parts;
            var index = new long[rank];
            var unmapped = new bool[rank];
            for (var row = begin; row < end; row++)
            {
                // Leading indices of this row and where the row starts in the source.
                var rem = row;
                long sourceRow = 0;
                for (var a = rank - 2; a >= 0; a--)
                {
                    index[a] = rem % shape[a];
                    rem /= shape[a];
                }

                for (var a = 0; a < rank - 1; a++)
                {
                    var s = job.Source is null ? -1 : t.Axes[a].SourceIndex(index[a]);
                    unmapped[a] = s < 0;
                    sourceRow += Math.Max(s, 0) * sourceStrides[a];
                }

                foreach (var segment in t.Axes[rank - 1].Segments)
                {
                    unmapped[rank - 1] = job.Source is null || !segment.IsMapped;
                    var rule = job.Source is null ? t.Init : FirstUnmapped(initOrder, unmapped, t);
                    var offset = ((row * last) + segment.Start) * size;
                    var span = data.AsSpan((int)offset, (int)(segment.Length * size));
                    if (rule is null)
                    {
                        source.Read(job.Source!, (sourceRow + segment.SourceStart) * size, span);
                        continue;
                    }

                    for (long k = 0; k < segment.Length; k++)
                    {
                        var element = (row * last) + segment.Start + k;
                        InitValues.Write(InitValues.Value(rule, key, element), info.DType, span.Slice((int)(k * size), size));
                    }
                }
            }
        });
    }

    private static InitRule? FirstUnmapped(int[] order, bool[] unmapped, TensorPlan t)
    {
        foreach (var a in order)
        {
            if (unmapped[a])
            {
                return t.Axes[a].Unmapped;
            }
        }

        return null;
    }

    /// <summary>
    /// Tensor buffers kept for reuse, up to the budget: a freed 256 MiB array would otherwise stay in the working set
    /// until a full collection while the next one is allocated.
    /// </summary>
    internal sealed class BufferPool(long capacity)
    {
        private readonly List<byte[]> _free = [];

        public byte[] Rent(long size)
        {
            lock (_free)
            {
                var best = -1;
                for (var i = 0; i < _free.Count; i++)
                {
                    if (_free[i].LongLength >= size && (best < 0 || _free[i].LongLength < _free[best].LongLength))
                    {
                        best = i;
                    }
                }

                if (best >= 0)
                {
                    var found = _free[best];
                    _free.RemoveAt(best);
                    return found;
                }
            }

            return GC.AllocateUninitializedArray<byte>((int)size);
        }

        public void Return(byte[] buffer)
        {
            lock (_free)
            {
                _free.Add(buffer);
                _free.Sort((a, b) => b.LongLength.CompareTo(a.LongLength));
                long kept = 0;
                var n = 0;
                while (n < _free.Count && kept + _free[n].LongLength <= capacity)
                {
                    kept += _free[n++].LongLength;
                }

                _free.RemoveRange(n, _free.Count - n);
            }
        }
    }

    /// <summary>Bytes of tensor buffers allowed in flight; a tensor larger than the whole budget waits for all of it.</summary>
    private sealed class ByteBudget(long capacity)
    {
        private readonly long _capacity = capacity;

        public long Capacity => _capacity;
        private long _available = capacity;
        private bool _cancelled;

        public void Acquire(long bytes, CancellationToken cancel)
        {
            var want = Math.Min(bytes, _capacity);
            lock (this)
            {
                while (_available < want && !_cancelled)
                {
                    Monitor.Wait(this, 50);
                    cancel.ThrowIfCancellationRequested();
                }

                _available -= want;
            }
        }

        public void Release(long bytes)
        {
            lock (this)
            {
                _available += Math.Min(bytes, _capacity);
                Monitor.PulseAll(this);
            }
        }

        public void Cancel()
        {
            lock (this)
            {
                _cancelled = true;
                Monitor.PulseAll(this);
            }
        }
    }
}
