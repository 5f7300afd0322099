using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.TorchSharp;
using NeuralSurgery.TorchSharp.Growth;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// Paper 004 (DYNO) on a teacher-student task (issue 15): a teacher MLP <c>in → 32 → out</c> with fixed random weights
/// labels Gaussian inputs; students <c>in → W → out</c> start at W = 8 and W = 128 and train with DYNO growing and
/// pruning their hidden layer. Goals: both end within ±25 % of the teacher's 32, and the loss changes by less than
/// 1e-6 at every growth event (zero fan-out). Every structural change is printed, with the widths over time.
/// </summary>
public static class GrowBench
{
    public static int Run(string[] args)
    {
        var seed = Option(args, "--seed", 1);
        var teacherWidth = Option(args, "--teacher", 32L);
        var steps = Option(args, "--steps", 6000);
        var inputs = Option(args, "--in", 48);
        var outputs = Option(args, "--out", 8);
        var batch = Option(args, "--batch", 128);
        var options = new DynoOptions
        {
            Every = Option(args, "--every", 250),
            Epsilon = Option(args, "--epsilon", 1e-2),
            Delta = Option(args, "--delta", 3e-2),
            FanInScale = Option(args, "--fan-in-scale", 0.01),
            CandidatesPerUnit = Option(args, "--candidates", 100),
            Seed = seed,
            BufferMinimum = Option(args, "--buffer-min", 256L),
            BufferFactor = Option(args, "--buffer-factor", 2.0),
        };
        var lr = Option(args, "--lr", 3e-3);
        var decay = Option(args, "--weight-decay", 1e-3);
        // Per starting width: a full-rank layer has phi = 1, which eq. 4 can never exceed, so the narrow student starts
        // from a small initialisation (its features not formed yet: phi* < 1); the wide one from the default (a wide
        // layer from a small start would first grow by every rank it gains). Pass one number to use it for both.
        var initScales = Option(args, "--init-scale", "8:0.01,128:1");
        double InitScale(long width) => initScales.Contains(':', StringComparison.Ordinal)
            ? initScales.Split(',').Select(p => p.Split(':')).Where(p => long.Parse(p[0], CultureInfo.InvariantCulture) == width).Select(p => double.Parse(p[1], CultureInfo.InvariantCulture)).DefaultIfEmpty(1).First()
            : double.Parse(initScales, CultureInfo.InvariantCulture);
        var sgd = Option(args, "--optimizer", "adam") == "sgd";
        TorchSharpNative.EnsureLoaded();
        torch.set_num_threads(Math.Max(1, Option(args, "--threads", Math.Min(2, Environment.ProcessorCount))));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"grow-repro: TorchSharp {typeof(torch).Assembly.GetName().Version}, CPU, {torch.get_num_threads()} threads; teacher {inputs}-{teacherWidth}-{outputs} (ReLU, fixed random weights), seed {seed}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {steps} steps of {(sgd ? "SGD (momentum 0.9" : "Adam (")}lr {lr}, weight decay {decay}), batch {batch}; DYNO every {options.Every} steps, eps {options.Epsilon}, delta {options.Delta}, {options.CandidatesPerUnit} candidates per grown unit, new units' fan-in norm {options.FanInScale} x the layer's mean, student init scale {initScales} (width:scale)"));

        torch.manual_seed(seed);
        using var teacher = new Mlp(inputs, teacherWidth, outputs);
        using var test = randn(2048, inputs);
        using var testY = Label(teacher, test);
        var results = new List<(long Start, long End, double Loss, List<DynoEvent> Events, double Seconds)>();
        foreach (var start in Option(args, "--students", "8,128").Split(',').Select(w => long.Parse(w, CultureInfo.InvariantCulture)))
        {
            var clock = Stopwatch.StartNew();
            torch.manual_seed(seed * 1000 + start);
            var student = new Mlp(inputs, start, outputs, InitScale(start));
            OptimizerHelper Optimizer(nn.Module m) => sgd ? optim.SGD(m.parameters(), lr, momentum: 0.9, weight_decay: decay) : optim.Adam(m.parameters(), lr, weight_decay: decay);
            double Loss(nn.Module m)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                return nn.functional.mse_loss(((Mlp)m).call(test), testY).item<float>();
            }

            using var dyno = new Dyno(
                ModelSide.Trace(Graph(inputs, start, outputs), null),
                student,
                Optimizer(student),
                w => new Mlp(inputs, w["fc1"], outputs),
                Optimizer,
                [new DynoLayer("fc1", t => t.relu())],
                options with { Evaluate = Loss, Probe = m => ((Mlp)m).call(test) });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"student starting at width {start}: initial test loss {Loss(student):E3}"));
            var generator = new torch.Generator((ulong)(seed * 7919 + start));
            for (var step = 1; step <= steps; step++)
            {
                using (var scope = NewDisposeScope())
                {
                    var x = randn([batch, inputs], generator: generator);
                    var y = Label(teacher, x);
                    var model = (Mlp)dyno.Model;
                    dyno.Optimizer.zero_grad();
                    nn.functional.mse_loss(model.call(x), y).backward();
                    dyno.Optimizer.step();
                }

                foreach (var e in dyno.Step())
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  step {e.Step,6}: {(e.Grew ? "grow " : "prune")} {e.From,4} -> {e.To,4}  phi {e.Phi:F3} phi* {e.Baseline:F3} -> {e.NewBaseline:F3} (rank {e.Phi * e.From:F0} -> {e.NewBaseline * e.To:F0})  loss {e.Before:E4} -> {e.After:E4} (change {e.Change:E2})  max |output change| {e.MaxOutputChange:E2}"));
                }

                if (step % 1000 == 0)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  step {step,6}: width {dyno.Widths["fc1"],4}, test loss {Loss(dyno.Model):E3}, phi* {dyno.Trigger("fc1").Baseline:F3}"));
                }
            }

            var end = dyno.Widths["fc1"];
            results.Add((start, end, Loss(dyno.Model), dyno.Events.ToList(), clock.Elapsed.TotalSeconds));
        }

        Console.WriteLine();
        var (low, high) = ((long)Math.Ceiling(0.75 * teacherWidth), (long)Math.Floor(1.25 * teacherWidth));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"summary (teacher width {teacherWidth}; goal: end width {low}..{high}, |loss change| < 1e-6 at every growth event)"));
        var ok = true;
        foreach (var (start, end, loss, events, seconds) in results)
        {
            var grows = events.Where(e => e.Grew).ToList();
            var worst = grows.Count == 0 ? 0 : grows.Max(e => Math.Abs(e.Change ?? double.NaN));
            var inBand = end >= low && end <= high;
            var exact = grows.All(e => Math.Abs(e.Change ?? double.NaN) < 1e-6);
            ok &= inBand && exact;
            var widths = string.Join(" ", new[] { $"{start}@0" }.Concat(events.Select(e => $"{e.To}@{e.Step}")));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  start {start,3}: end width {end,3} ({(inBand ? "within" : "OUTSIDE")} +-25 %), {grows.Count} growth and {events.Count - grows.Count} pruning events, largest |loss change| at growth {worst:E2} ({(exact ? "< 1e-6" : "NOT < 1e-6")}), final test loss {loss:E3}, {seconds:F1} s"));
            Console.WriteLine("    widths (width@step): " + widths);
        }

        return ok ? 0 : 1;
    }

    private static Tensor Label(Mlp teacher, Tensor x)
    {
        using var noGrad = no_grad();
        return teacher.call(x);
    }

    /// <summary>The students' graph: what the generator reads off <see cref="Mlp"/>.</summary>
    private static ModelGraph Graph(long inputs, long hidden, long outputs)
    {
        var b = new GraphBuilder("Student");
        var h = b.Relu(b.Linear("fc1", b.FeatureInput("x", Dim.Batch, inputs), hidden));
        b.Output("y", b.Linear("head", h, outputs));
        return b.Build();
    }

    private static T Option<T>(string[] args, string name, T fallback)
        where T : IParsable<T>
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? T.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary><c>in → hidden (ReLU) → out</c>; the fan-in of fc1 is scaled by <c>initScale</c> after the default initialisation.</summary>
    private sealed class Mlp : nn.Module<Tensor, Tensor>
    {
        private readonly Linear fc1;
        private readonly Linear head;

        public Mlp(long inputs, long hidden, long outputs, double initScale = 1) : base("Student")
        {
            fc1 = nn.Linear(inputs, hidden);
            head = nn.Linear(hidden, outputs);
            RegisterComponents();
            if (initScale != 1)
            {
                using var noGrad = no_grad();
                fc1.weight!.mul_(initScale);
                fc1.bias!.mul_(initScale);
            }
        }

        public override Tensor forward(Tensor x) => head.call(nn.functional.relu(fc1.call(x)));
    }
}
