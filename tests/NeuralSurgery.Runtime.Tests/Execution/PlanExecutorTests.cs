using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Diff;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Tests.Support;

namespace NeuralSurgery.Runtime.Tests.Execution;

public sealed class PlanExecutorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ns-exec-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The executor's contract stated per element: copy where the plan maps, else the rule's counter-based value.</summary>
    private static byte[] Naive(TensorPlan t, TensorInfo target, ITensorSource source, int seed)
    {
        var size = target.DType.ElementSize();
        var data = new byte[target.ByteLength];
        var key = InitValues.TensorKey(seed, t.Name);
        var shape = t.Shape.ToArray();
        var index = new long[shape.Length];
        for (long e = 0; e < target.ElementCount; e++)
        {
            var rem = e;
            for (var a = shape.Length - 1; a >= 0; a--)
            {
                index[a] = rem % shape[a];
                rem /= shape[a];
            }

            var rule = t.RuleFor(index);
            if (rule is null)
            {
                long offset = 0;
                for (var a = 0; a < shape.Length; a++)
                {
                    offset = (offset * t.SourceShape[a]) + t.Axes[a].SourceIndex(index[a]);
                }

                source.Read(source.Find(t.Source!)!, offset * size, data.AsSpan((int)(e * size), size));
            }
            else
            {
                InitValues.Write(InitValues.Value(rule, key, e), target.DType, data.AsSpan((int)(e * size), size));
            }
        }

        return data;
    }

    private static (SurgeryPlan Plan, StateDict Source) RandomCase(int seed)
    {
        var rng = new Random(seed);
        var source = new StateDict();
        var tensors = new List<TensorPlan>();
        InitRule RandomRule() => rng.Next(5) switch
        {
            0 => InitRule.Zeros,
            1 => InitRule.Ones,
            2 => InitRule.Constant(Math.Round(rng.NextDouble() * 4, 2) - 2),
            3 => InitRule.Uniform(rng.NextDouble()),
            _ => InitRule.Normal(rng.NextDouble()),
        };

        var count = 1 + rng.Next(6);
        for (var i = 0; i < count; i++)
        {
            var rank = rng.Next(4);
            var shape = Enumerable.Range(0, rank).Select(_ => (long)(1 + rng.Next(6))).ToArray();
            var name = $"layer{i}.weight";
            if (rng.Next(4) == 0)
            {
                tensors.Add(new TensorPlan(name, shape.ToEquatableArray(), "float32", false, null, EquatableArray<long>.Empty,
                    shape.Select(d => new AxisMap(AxisRole.Output, d, 0, AxisMap.Encode(Enumerable.Repeat(-1L, (int)d).ToArray()), InitRule.Zeros)).ToEquatableArray(),
                    Enumerable.Range(0, rank).ToEquatableArray(), RandomRule()));
                continue;
            }

            var sourceShape = shape.Select(d => Math.Max(1, d + rng.Next(-2, 3))).ToArray();
            var dtype = new[] { DType.Float32, DType.Float64, DType.Float16, DType.BFloat16 }[rng.Next(4)];
            var src = TensorInfo.Create("old." + name, dtype, sourceShape);
            var bytes = new byte[src.ByteLength];
            rng.NextBytes(bytes);
            source.Add(src, bytes);
            var axes = new List<AxisMap>();
            for (var a = 0; a < rank; a++)
            {
                var pool = Enumerable.Range(0, (int)sourceShape[a]).Select(x => (long)x).OrderBy(_ => rng.Next()).ToList();
                var map = new long[shape[a]];
                for (var k = 0; k < map.Length; k++)
                {
                    // Runs of consecutive indices, gaps and shuffles, as real plans have.
                    map[k] = rng.Next(4) == 0 || pool.Count == 0 ? -1 : (k > 0 && map[k - 1] >= 0 && pool.Remove(map[k - 1] + 1) ? map[k - 1] + 1 : Take(pool));
                }

                axes.Add(new AxisMap(AxisRole.Input, shape[a], sourceShape[a], AxisMap.Encode(map), RandomRule()));
            }

            tensors.Add(new TensorPlan(name, shape.ToEquatableArray(), "float32", false, src.Name, sourceShape.ToEquatableArray(), axes.ToEquatableArray(),
                Enumerable.Range(0, rank).OrderBy(_ => rng.Next()).ToEquatableArray(), RandomRule()));
        }

        var plan = new SurgeryPlan(new ModelVersion("M", 1), new ModelVersion("M", 2), PlanOptions.Default, tensors.ToEquatableArray(),
            new PlanTotals(tensors.Sum(t => t.CopiedElements), tensors.Sum(t => t.TotalElements), source.Tensors.Sum(t => t.ElementCount)),
            EquatableArray<DroppedItem>.Empty, EquatableArray<string>.Empty);
        return (plan, source);

        static long Take(List<long> pool)
        {
            var v = pool[0];
            pool.RemoveAt(0);
            return v;
        }
    }

    [Fact]
    public void Random_plans_on_random_checkpoints_agree_with_the_element_by_element_executor()
    {
        for (var seed = 0; seed < 200; seed++)
        {
            var (plan, source) = RandomCase(seed);
            var result = PlanExecutor.ApplyInMemory(plan, source, seed);
            foreach (var t in plan.Tensors)
            {
                var target = result.Find(t.Name)!;
                var expectedDType = t.Source is null ? source.Tensors.Select(s => s.DType).DefaultIfEmpty(DType.Float32).First() : source.Find(t.Source)!.DType;
                Assert.Equal(expectedDType, target.DType);
                Assert.True(Naive(t, target, source, seed).AsSpan().SequenceEqual(result.GetData(t.Name)), $"seed {seed}: tensor '{t.Name}' differs from the element-by-element result");
            }
        }
    }

    [Theory]
    [InlineData("new.dat")]
    [InlineData("new.safetensors")]
    public void A_real_plan_applied_to_a_checkpoint_file_matches_element_by_element_and_records_the_plan(string file)
    {
        var c = OpenAiFiveGraphs.Small;
        var (g1, s1) = OpenAiFiveGraphs.Build(c, 1);
        var (g2, s2) = OpenAiFiveGraphs.Build(c, 2);
        var plan = SurgeryDiffer.Diff(ModelSide.Trace(g1, s1), ModelSide.Trace(g2, s2));
        var old = new StateDict();
        var rng = new Random(5);
        foreach (var p in g1.Parameters)
        {
            var info = TensorInfo.Create(p.Name, DTypes.FromIrName(p.Declaration.DType), p.Shape.Dims.Select(d => d.Value).ToArray());
            old.Add(info, info.DType == DType.Float32 ? Floats(rng, info.ElementCount) : new byte[info.ByteLength]);
        }

        var sourcePath = Path.Combine(_dir, "old.dat");
        old.Save(sourcePath);
        var before = File.ReadAllBytes(sourcePath);
        var targetPath = Path.Combine(_dir, file);
        PlanExecutor.Apply(plan, sourcePath, targetPath, new ApplyOptions { Seed = 3 });
        Assert.Equal(before, File.ReadAllBytes(sourcePath));

        using var written = CheckpointReader.Open(targetPath);
        Assert.Equal(g2.Parameters.Select(p => p.Name), written.Tensors.Select(t => t.Name));
        foreach (var t in plan.Tensors)
        {
            Assert.True(Naive(t, written.Find(t.Name)!, old, 3).AsSpan().SequenceEqual(written.ReadAll(written.Find(t.Name)!)), $"tensor '{t.Name}'");
        }

        Assert.Equal(PlanExecutor.PlanHash(plan), written.Metadata[PlanExecutor.PlanHashKey]);
        Assert.Equal($"{s1.Model} v1", written.Metadata[PlanExecutor.FromKey]);
        Assert.Equal($"{s2.Model} v2", written.Metadata[PlanExecutor.ToKey]);

        // Same plan, same seed: the same bytes.
        var again = Path.Combine(_dir, "again" + Path.GetExtension(file));
        PlanExecutor.Apply(plan, sourcePath, again, new ApplyOptions { Seed = 3 });
        Assert.Equal(File.ReadAllBytes(targetPath), File.ReadAllBytes(again));
    }

    [Fact]
    public void Outputs_are_stamped_with_the_plans_target_and_a_checkpoint_stamped_as_another_version_is_refused()
    {
        var c = OpenAiFiveGraphs.Small;
        var (g1, s1) = OpenAiFiveGraphs.Build(c, 1);
        var (g2, s2) = OpenAiFiveGraphs.Build(c, 2);
        var plan = SurgeryDiffer.Diff(ModelSide.Trace(g1, s1), ModelSide.Trace(g2, s2));
        var old = new StateDict();
        foreach (var p in g1.Parameters)
        {
            var info = TensorInfo.Create(p.Name, DTypes.FromIrName(p.Declaration.DType), p.Shape.Dims.Select(d => d.Value).ToArray());
            old.Add(info, new byte[info.ByteLength]);
        }

        var v1 = Path.Combine(_dir, "v1.safetensors");
        old.Save(v1);
        var v2 = Path.Combine(_dir, "v2.safetensors");
        PlanExecutor.Apply(plan, v1, v2);
        using (var written = CheckpointReader.Open(v2))
        {
            var stamp = CheckpointStamp.Read(written.Metadata, v2);
            Assert.Equal(new CheckpointStamp(s2.Model, 2, Snapshots.ModelSnapshot.FingerprintOf(g2, s2)), stamp);
            Assert.Equal(stamp, PlanExecutor.TargetStamp(plan));
        }

        // The same tensors stamped as the v2 model: the v1 → v2 plan must not run on them again.
        var stamped = new StateDict();
        foreach (var info in old.Tensors)
        {
            stamped.Add(info, old.GetData(info.Name));
        }

        foreach (var entry in PlanExecutor.TargetStamp(plan)!.ToMetadata())
        {
            stamped.Metadata[entry.Key] = entry.Value;
        }

        var wrong = Path.Combine(_dir, "stamped-v2.safetensors");
        stamped.Save(wrong);
        var target = Path.Combine(_dir, "out.safetensors");
        var e = Assert.Throws<PlanApplicationException>(() => PlanExecutor.Apply(plan, wrong, target));
        Assert.StartsWith(wrong + ": the plan cannot be applied: it is stamped as " + s2.Model + " v2 (graph fingerprint ", e.Message, StringComparison.Ordinal);
        Assert.Contains("but the plan starts from " + s1.Model + " v1", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(target));
        Assert.Throws<PlanApplicationException>(() => PlanExecutor.ApplyInMemory(plan, stamped));

        // Told to, it applies; a plan without fingerprints (written before they existed) neither checks nor stamps.
        PlanExecutor.Apply(plan, wrong, target, new ApplyOptions { IgnoreSourceStamp = true });
        var unfingerprinted = plan with { From = plan.From with { Fingerprint = null }, To = plan.To with { Fingerprint = null } };
        Assert.Null(PlanExecutor.TargetStamp(unfingerprinted));
        Assert.False(PlanExecutor.ApplyInMemory(unfingerprinted, stamped).Metadata.ContainsKey(CheckpointStamp.FingerprintKey));
    }

    private static byte[] Floats(Random rng, long count)
    {
        var values = Enumerable.Range(0, (int)count).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
        var bytes = new byte[count * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    private (SurgeryPlan Plan, string Source) SmallCase()
    {
        var (plan, source) = RandomCase(7);
        var path = Path.Combine(_dir, "src.safetensors");
        source.Save(path);
        return (plan, path);
    }

    [Fact]
    public void A_missing_source_tensor_is_refused_before_anything_is_written()
    {
        var (plan, path) = SmallCase();
        var broken = plan with { Tensors = plan.Tensors.Select(t => t.Source is null ? t : t with { Source = "nope." + t.Name }).ToEquatableArray() };
        var target = Path.Combine(_dir, "out.safetensors");
        var e = Assert.Throws<PlanApplicationException>(() => PlanExecutor.Apply(broken, path, target));
        Assert.StartsWith(path + ": the plan cannot be applied: tensor 'layer", e.Message, StringComparison.Ordinal);
        Assert.Contains("which the source does not have", e.Message, StringComparison.Ordinal);
        Assert.Equal(new[] { "src.safetensors" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void A_source_of_another_shape_is_refused_naming_both_shapes()
    {
        var (plan, path) = SmallCase();
        var first = plan.Tensors.First(t => t.Source is not null && t.Shape.Count > 0);
        var broken = plan with { Tensors = plan.Tensors.Select(t => t == first ? t with { SourceShape = t.SourceShape.Select(d => d + 1).ToEquatableArray() } : t).ToEquatableArray() };
        var e = Assert.Throws<PlanApplicationException>(() => PlanExecutor.Apply(broken, path, Path.Combine(_dir, "out.dat")));
        Assert.Contains($"tensor '{first.Name}' expects '{first.Source}' of shape [{string.Join(", ", first.SourceShape.Select(d => d + 1))}] but the source has [{string.Join(", ", first.SourceShape)}]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_existing_target_is_refused_and_the_source_is_never_the_target()
    {
        var (plan, path) = SmallCase();
        var target = Path.Combine(_dir, "out.dat");
        File.WriteAllText(target, "keep me");
        Assert.ThrowsAny<IOException>(() => PlanExecutor.Apply(plan, path, target));
        Assert.Equal("keep me", File.ReadAllText(target));
        PlanExecutor.Apply(plan, path, target, new ApplyOptions { Overwrite = true });
        Assert.NotEqual("keep me", File.ReadAllText(target));

        var before = File.ReadAllBytes(path);
        var e = Assert.ThrowsAny<IOException>(() => PlanExecutor.Apply(plan, path, path, new ApplyOptions { Overwrite = true }));
        Assert.Contains("surgery never writes over its input", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_failure_mid_way_leaves_nothing_behind()
    {
        var (plan, source) = RandomCase(11);
        var failing = new FailingSource(source, failAfter: 2);
        var target = Path.Combine(_dir, "out.safetensors");
        Assert.Throws<IOException>(() => PlanExecutor.Apply(plan, failing, target));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Random_init_of_an_integer_tensor_is_refused()
    {
        var source = new StateDict();
        source.Add(TensorInfo.Create("n", DType.Int64, 2), new byte[16]);
        var t = new TensorPlan("n", new long[] { 3 }, "int64", true, "n", new long[] { 2 },
            new[] { new AxisMap(AxisRole.Output, 3, 2, AxisMap.Encode(new long[] { 0, 1, -1 }), InitRule.Uniform(1)) }, new[] { 0 }, InitRule.Zeros);
        var plan = new SurgeryPlan(new ModelVersion("M", 1), new ModelVersion("M", 2), PlanOptions.Default, new[] { t }, new PlanTotals(2, 0, 0), EquatableArray<DroppedItem>.Empty, EquatableArray<string>.Empty);
        Assert.Equal(new[] { "tensor 'n' is int64 but the plan initialises some of it at random" }, PlanExecutor.Validate(plan, source));
    }

    [Fact]
    public void Progress_reports_every_tensor_in_order()
    {
        var (plan, path) = SmallCase();
        var seen = new List<CheckpointProgress>();
        PlanExecutor.Apply(plan, path, Path.Combine(_dir, "out.dat"), new ApplyOptions { Progress = new SyncProgress(seen.Add) });
        Assert.Equal(plan.Tensors.Select(t => t.Name), seen.Select(p => p.TensorName));
        Assert.Equal(seen[^1].BytesTotal, seen[^1].BytesDone);
    }

    private sealed class SyncProgress(Action<CheckpointProgress> report) : IProgress<CheckpointProgress>
    {
        public void Report(CheckpointProgress value) => report(value);
    }

    /// <summary>A source whose reads start failing after some tensors, like a disk error mid-way.</summary>
    private sealed class FailingSource(StateDict inner, int failAfter) : ITensorSource
    {
        private readonly HashSet<string> _read = [];

        public IReadOnlyList<TensorInfo> Tensors => inner.Tensors;

        public IReadOnlyDictionary<string, string> Metadata => inner.Metadata;

        public TensorInfo? Find(string name) => inner.Find(name);

        public void Read(TensorInfo t, long byteOffset, Span<byte> destination)
        {
            lock (_read)
            {
                _read.Add(t.Name);
                if (_read.Count > failAfter)
                {
                    throw new IOException($"simulated read error in '{t.Name}'");
                }
            }

            inner.Read(t, byteOffset, destination);
        }
    }
}
