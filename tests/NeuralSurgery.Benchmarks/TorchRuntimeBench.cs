using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Runtime.Tuning;
using NeuralSurgery.Tests.Support;
using NeuralSurgery.TorchSharp;
using NeuralSurgery.TorchSharp.Tuning;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// The runtime inside TorchSharp against TorchSharp itself, same process, same tensors, as ratios:
/// module-to-module apply of the OpenAI-Five-Large v1 → v2 plan against <c>load_state_dict</c> of the tensors it
/// produces; a masked Adam step against a plain Adam step; an SGD step with Dyn-Δ's bookkeeping (Algorithm 1, one
/// deletion per K_every steps) against a plain SGD step.
/// </summary>
/// <remarks>
/// Dyn-Δ's "bookkeeping / plain" is (mean of K_every Dyn-Δ steps − plain step) / plain step: everything
/// <see cref="DynamicSparseTuning.Step"/> adds to the optimizer's own step, i.e. gradient masking, the reset of frozen
/// elements, the indicator update and the deletion (top-n over all I, mask rewrite, reset of the deleted), the
/// deletion amortised over the K_every steps it serves. The plain steps run on a twin of the weights, each just
/// before a Dyn-Δ step, so that a shared machine's load falls on both sides alike.
/// </remarks>
public static class TorchRuntimeBench
{
    public static int Run(string[] args)
    {
        var parameters = Option(args, "--params", 100_000_000);
        var runs = Option(args, "--runs", 5);
        var kEvery = Option(args, "--steps", 10);
        TorchSharpNative.EnsureLoaded();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"TorchSharp {typeof(torch).Assembly.GetName().Version}, CPU, {torch.get_num_threads()} threads, {Environment.ProcessorCount} cores"));
        Apply(runs);
        Steps(parameters, runs, kEvery);
        return 0;
    }

    private static void Apply(int runs)
    {
        var (g1, s1) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Large, 1);
        var (g2, s2) = OpenAiFiveGraphs.Build(OpenAiFiveGraphs.Large, 2);
        var plan = SurgeryDiffer.Diff(ModelSide.Trace(g1, s1), ModelSide.Trace(g2, s2));
        torch.manual_seed(1);
        var source = ParameterTree.Of(g1);
        var target = ParameterTree.Of(g2);
        LiveSurgery.Apply(plan, source, target, seed: 1); // warm-up
        var tensors = target.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        target.load_state_dict(tensors);

        var apply = new List<double>();
        var load = new List<double>();
        for (var r = 0; r < runs; r++)
        {
            apply.Add(Measure.Once(() => LiveSurgery.Apply(plan, source, target, seed: 1)));
            load.Add(Measure.Once(() => target.load_state_dict(tensors)));
        }

        var (a, l) = (Measure.Median(apply), Measure.Median(load));
        if (Environment.GetEnvironmentVariable("NS_BENCH_DETAIL") is not null)
        {
            var same = SurgeryDiffer.Diff(ModelSide.Trace(g1, s1), ModelSide.Trace(g1, s1));
            var source2 = ParameterTree.Of(g1);
            LiveSurgery.Apply(same, source, source2, seed: 1);
            Console.WriteLine($"identity plan apply {Measure.Median(Enumerable.Range(0, runs).Select(_ => Measure.Once(() => LiveSurgery.Apply(same, source, source2, seed: 1))).ToList()):F1} ms");
            foreach (var t in plan.Tensors.Where(t => t.Source is null || t.Axes.Any(x => !(x.Segments.Count == 1 && x.Segments[0].SourceStart == 0 && x.Length == x.SourceLength))))
            {
                Console.WriteLine($"  remapped {t.Name} [{string.Join(", ", t.Shape)}] init {t.Init} order {string.Join(",", t.InitOrder)} rules {string.Join(",", t.Axes.Select(x => x.Unmapped.ToString()))}");
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"OpenAI-Five-Large v1 -> v2 ({plan.Totals.TargetElements:N0} parameter elements, {plan.Totals.CopiedElements:N0} copied), median of {runs}:"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  LiveSurgery.Apply, module to module   {a,9:F1} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  Module.load_state_dict, same tensors  {l,9:F1} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  load_state_dict / apply               {l / a,9:F2}   (goal >= 0.5)"));
    }

    private static void Steps(long count, int runs, int kEvery)
    {
        const int Tensors = 4;
        var per = count / Tensors;
        torch.manual_seed(2);
        var model = new ParameterTree("flat");
        for (var t = 0; t < Tensors; t++)
        {
            model.Add("w" + t, torch.randn(per) * 0.1);
        }

        var weights = model.parameters().ToArray();
        var gradients = weights.Select(w => torch.randn_like(w)).ToArray();
        for (var i = 0; i < weights.Length; i++)
        {
            (weights[i] * gradients[i]).sum().backward(); // grad = gradients[i]
        }

        void SetGradients()
        {
            // The masked step multiplies gradients in place: give every timed step the same ones.
            using var noGrad = torch.no_grad();
            for (var i = 0; i < weights.Length; i++)
            {
                weights[i].grad!.copy_(gradients[i]);
            }
        }

        // Adam: plain against masked (1 % of the elements may change).
        var mask = DeviceMask.TopN(
            model.named_parameters().ToDictionary(p => p.name, p => torch.rand_like(p.parameter)),
            [.. model.named_parameters().Select(p => p.name)],
            count / 100);
        var adam = optim.Adam(model.parameters(), 1e-3, weight_decay: 0.01);
        var masked = new MaskedStep(model, mask);
        var plain = Time(runs, SetGradients, () => adam.step());
        var withMask = Time(runs, SetGradients, () => masked.Step(adam));

        // SGD: plain against Dyn-Δ (Algorithm 1), averaged over K_every steps with one deletion.
        // The plain steps go to a twin of the weights, one before each Dyn-Δ step, so that both sides of the ratio
        // run under the same load of a shared machine; each side moves its own 10^8 weights and gradients.
        var twin = new ParameterTree("twin");
        for (var t = 0; t < Tensors; t++)
        {
            twin.Add("w" + t, weights[t].detach().clone());
        }

        var twinWeights = twin.parameters().ToArray();
        for (var i = 0; i < twinWeights.Length; i++)
        {
            (twinWeights[i] * gradients[i]).sum().backward();
        }

        var sgd = optim.SGD(model.parameters(), 1e-3);
        var twinSgd = optim.SGD(twin.parameters(), 1e-3);
        Time(1, SetGradients, () => sgd.step()); // warm-up of both optimizers
        Time(1, () => { }, () => twinSgd.step());
        var dyn = new DynamicSparseTuning(model, new DynamicOptions { N = 1000, KStart = 0, KEvery = kEvery, Alpha = 0.95, Eta = 0.1 });
        var plainTimes = new List<double>();
        var dynTimes = new List<double>();
        var deleting = new List<double>();
        var steps = new List<double>();
        for (var s = 0; s < kEvery; s++)
        {
            plainTimes.Add(Measure.Once(() => twinSgd.step())); // the twin's gradients never change: SGD leaves them
            SetGradients();
            var before = dyn.Deletions;
            var ms = Measure.Once(() => dyn.Step(sgd));
            (dyn.Deletions > before ? deleting : dynTimes).Add(ms);
            steps.Add(ms);
        }

        var plainSgd = Measure.Median(plainTimes);

        var regular = Measure.Median(dynTimes);
        var deletion = deleting.Count == 0 ? 0 : deleting.Average() - regular;
        var dynMean = dynTimes.Concat(deleting).Average();
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Steps on {per * Tensors:N0} parameters ({Tensors} tensors):"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  plain Adam step (weight decay)        {plain,9:F1} ms  (median of {runs})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  MaskedStep over Adam (1 % tunable)    {withMask,9:F1} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  masked / plain                        {withMask / plain,9:F2}x  (goal <= 1.3)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  plain SGD step                        {plainSgd,9:F1} ms  (median of {kEvery}, each just before a Dyn-Δ step)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  SGD step + Dyn-Δ                      {dynMean,9:F1} ms  (mean of K_every = {kEvery} steps, {dyn.Deletions} deletion(s), |S| now {dyn.AllowedCount:N0})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    of which a step without deletion    {regular,9:F1} ms, a deletion {deletion:F1} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  bookkeeping / plain                   {(dynMean - plainSgd) / plainSgd,9:F2}x  (goal <= 1.5; total / plain {dynMean / plainSgd:F2}x)"));
        // The same bookkeeping over the step most users train with: Algorithm 1 adds a fixed cost per element, so its
        // ratio depends on the optimizer it rides on; SGD without momentum is the cheapest step there is.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    against the plain Adam step above   {(dynMean - plainSgd) / plain,9:F2}x"));
        var plainMean = plainTimes.Average(); // the same statistic on both sides of the interleaved pairs
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    against the plain steps' mean {plainMean:F1} ms   {(dynMean - plainMean) / plainMean,9:F2}x"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    plain steps (ms): {string.Join(", ", plainTimes.Select(t => t.ToString("F1", CultureInfo.InvariantCulture)))}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    Dyn-Δ steps (ms): {string.Join(", ", steps.Select(t => t.ToString("F1", CultureInfo.InvariantCulture)))}"));
        if (CpuKernels.Available)
        {
            Breakdown(model, Time(runs, () => { }, () => twinSgd.step()), runs, SetGradients);
        }
    }

    /// <summary>
    /// Where a Dyn-Δ step's time goes on the CPU: each pass of <see cref="CpuKernels"/> alone on the same 10^8 elements,
    /// with the bytes it moves per element (the plain SGD step reads w and g and writes w: 12).
    /// </summary>
    private static void Breakdown(ParameterTree model, double plainSgd, int runs, Action setGradients)
    {
        using var noGrad = torch.no_grad();
        var parameters = model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        var initial = parameters.Select(p => p.parameter.detach().clone()).ToArray();
        var indicators = parameters.Select(p => torch.rand_like(p.parameter)).ToArray();
        var frozen = parameters.Select(p => torch.rand_like(p.parameter).gt(0.1)).ToArray(); // 10 % frozen, as after the first deletion
        var output = frozen.Select(m => torch.empty_like(m)).ToArray();
        double Pass(Action<int> body) => Time(runs, () => { }, () =>
        {
            for (var i = 0; i < parameters.Count; i++)
            {
                body(i);
            }
        });

        var afterAll = Pass(i => CpuKernels.AfterStep(parameters[i].parameter, initial[i], null, indicators[i], 0.95f));
        var afterMasked = Pass(i => CpuKernels.AfterStep(parameters[i].parameter, initial[i], frozen[i], indicators[i], 0.95f));
        var before = Time(runs, setGradients, () =>
        {
            for (var i = 0; i < parameters.Count; i++)
            {
                CpuKernels.BeforeStep(parameters[i].parameter.grad!, frozen[i], null, 0);
            }
        });
        var count = frozen.Sum(m => m.count_nonzero().item<long>());
        var select = Time(runs, () => { }, () => CpuKernels.Select(
            [.. parameters.Select((p, i) => new CpuKernels.Segment(p.name, CpuKernels.Address(indicators[i]), CpuKernels.Address(frozen[i]), CpuKernels.Address(output[i]), 0, 0, p.parameter.NumberOfElements))],
            count,
            count * 9 / 10));
        Console.WriteLine("  breakdown, each CPU pass alone (median of runs; bytes per element moved):");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    plain SGD step                    {plainSgd,9:F1} ms  (r w, g; w w: 12 B)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    after step, S = all: I update     {afterAll,9:F1} ms  {afterAll / plainSgd,5:F2}x  (r w, w_i, I; w I: 16 B)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    before step, 10 % frozen: mask g  {before,9:F1} ms  {before / plainSgd,5:F2}x  (r g, mask; w g where frozen: 5-9 B)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    after step, 10 % frozen           {afterMasked,9:F1} ms  {afterMasked / plainSgd,5:F2}x  (r w, w_i, I, mask; w I: 17 B)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    top-n of 90 % of the members      {select,9:F1} ms  {select / plainSgd,5:F2}x  (r I, mask twice; w mask: 11 B; a Dyn-Δ deletion counts in its step's pass and resets the deleted)"));
    }

    private static double Time(int runs, Action prepare, Action step)
    {
        prepare();
        step(); // warm-up
        var times = new List<double>();
        for (var r = 0; r < runs; r++)
        {
            prepare();
            times.Add(Measure.Once(step));
        }

        return Measure.Median(times);
    }

    private static int Option(string[] args, string name, int fallback) => Measure.IntOption(args, name, fallback);

    /// <summary>A module that only holds tensors under state_dict names (<c>a.b.weight</c> nests as TorchSharp nests).</summary>
    private sealed class ParameterTree : nn.Module
    {
        private readonly Dictionary<string, ParameterTree> _children = new(StringComparer.Ordinal);

        public ParameterTree(string name)
            : base(name)
        {
        }

        public static ParameterTree Of(ModelGraph graph)
        {
            var root = new ParameterTree(graph.Name);
            foreach (var p in graph.Parameters)
            {
                var shape = p.Shape.Dims.Select(d => d.Constant).ToArray();
                var value = p.Declaration.DType == "int64" ? torch.zeros(shape, ScalarType.Int64) : torch.randn(shape) * 0.05;
                root.Add(p.Name, value, p.IsBuffer);
            }

            return root;
        }

        public void Add(string path, Tensor value, bool buffer = false)
        {
            var dot = path.IndexOf('.', StringComparison.Ordinal);
            if (dot < 0)
            {
                if (buffer)
                {
                    register_buffer(path, value);
                }
                else
                {
                    register_parameter(path, new global::TorchSharp.Modules.Parameter(value));
                }

                return;
            }

            var head = path[..dot];
            if (!_children.TryGetValue(head, out var child))
            {
                child = new ParameterTree(head);
                _children[head] = child;
                register_module(head, child);
            }

            child.Add(path[(dot + 1)..], value, buffer);
        }
    }
}
