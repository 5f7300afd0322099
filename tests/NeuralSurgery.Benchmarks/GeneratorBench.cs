using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using NeuralSurgery.Generator;
using NeuralSurgery.Generator.Configuration;

namespace NeuralSurgery.Benchmarks;

/// <summary>
/// The <c>generator</c> command (DESIGN.md section 10, "an edit elsewhere in the project re-runs nothing"): run time of
/// <see cref="SurgeryGenerator"/> under <see cref="CSharpGeneratorDriver"/> on a 40-layer MLP and on the
/// OpenAI-Five-shaped policy, each in two versions with a surgery between them. Cold is a fresh driver on a fresh
/// compilation (what a clean build pays); incremental is the driver of the previous run after an edit, as the IDE and
/// the compiler server run it: an unrelated file, and the v2 model itself. Step tracking shows what re-ran.
/// </summary>
internal static class GeneratorBench
{
    /// <summary>The steps that trace the mirror and emit code: an unrelated edit must leave every output Cached or Unchanged.</summary>
    private static readonly string[] TracingAndEmitting =
    [
        TrackingNames.FeatureConstants, TrackingNames.FeatureConstantsSource,
        TrackingNames.Mirrors, TrackingNames.Traces, TrackingNames.MirrorSource,
        TrackingNames.Surgeries, TrackingNames.Plans, TrackingNames.SurgerySource,
    ];

    /// <summary>The steps shown in the step table: the reader (which must re-run per compilation) and the tracing and emitting steps.</summary>
    private static readonly string[] ShownSteps = [TrackingNames.ReadModels, .. TracingAndEmitting];

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static int Run(IReadOnlyList<string> args)
    {
        var runs = 15;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--runs" when i + 1 < args.Count && int.TryParse(args[i + 1], NumberStyles.Integer, Inv, out var n) && n > 0:
                    runs = n;
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"generator: unknown or incomplete option '{args[i]}'");
                    Console.Error.WriteLine("usage: generator [--runs N (per measurement, default 15)]");
                    return 2;
            }
        }

        Console.WriteLine($"generator run time: SurgeryGenerator under CSharpGeneratorDriver with step tracking, median of {runs} runs, ms");
        Console.WriteLine($"{Environment.ProcessorCount} cores, {RuntimeInformationText()}");
        Console.WriteLine();

        var references = References();
        var results = new List<Result>();
        foreach (var model in new[] { GeneratorBenchSources.Deep40(), GeneratorBenchSources.OpenAiFive(), GeneratorBenchSources.ResNet18() })
        {
            Console.Error.WriteLine($"generator: {model.Name} ...");
            results.Add(Measure(model, references, runs));
        }

        Console.WriteLine("| model | layers | cold | unrelated edit | model edit | unrelated edit re-ran |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | --- |");
        foreach (var r in results)
        {
            var reran = r.UnrelatedReran == 0 ? "nothing traced or emitted" : $"{r.UnrelatedReran} outputs (FAIL)";
            Console.WriteLine($"| {r.Model.Name} (v1, v2 and the surgery) | {r.Model.Layers} | {Ms(r.ColdMs.TotalMs)} | {Ms(r.UnrelatedMs.TotalMs)} | {Ms(r.ModelEditMs.TotalMs)} | {reran} |");
        }

        // Where the time goes: the reader needs the compilation, so it re-runs after any edit (its output is equal, so
        // nothing after it does); the tracing and emitting steps run only when a graph or a schema changed.
        Console.WriteLine();
        Console.WriteLine("own time of the steps (medians, ms): reader (ReadModels) / tracing and emitting (all other steps in the table below)");
        Console.WriteLine("| model | cold | unrelated edit | model edit |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            Console.WriteLine($"| {r.Model.Name} | {Split(r.ColdMs)} | {Split(r.UnrelatedMs)} | {Split(r.ModelEditMs)} |");
        }

        foreach (var r in results)
        {
            Console.WriteLine();
            Console.WriteLine($"steps of {r.Model.Name} (output reasons of the last run of each kind):");
            Console.WriteLine("| step | cold | unrelated edit | model edit |");
            Console.WriteLine("| --- | --- | --- | --- |");
            foreach (var step in ShownSteps)
            {
                Console.WriteLine($"| {step} | {r.Cold.GetValueOrDefault(step, "-")} | {r.Unrelated.GetValueOrDefault(step, "-")} | {r.ModelEdit.GetValueOrDefault(step, "-")} |");
            }
        }

        var failures = results.Count(r => r.UnrelatedReran != 0 || r.ModelEditReran == 0);
        Console.WriteLine();
        Console.WriteLine(failures == 0
            ? "incrementality: an unrelated edit re-ran no tracing or emitting step; a model edit re-traced and re-emitted"
            : "incrementality: FAILED (see the step tables)");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>Medians of one kind of run: the whole run, and the own time of the reader and of the tracing and emitting steps.</summary>
    private sealed record Timing(double TotalMs, double ReaderMs, double TraceEmitMs);

    private sealed record Result(
        GeneratorBenchModel Model,
        Timing ColdMs,
        Timing UnrelatedMs,
        Timing ModelEditMs,
        int UnrelatedReran,
        int ModelEditReran,
        IReadOnlyDictionary<string, string> Cold,
        IReadOnlyDictionary<string, string> Unrelated,
        IReadOnlyDictionary<string, string> ModelEdit);

    private static Result Measure(GeneratorBenchModel model, MetadataReference[] references, int runs)
    {
        var trees = model.Files.Select(f => CSharpSyntaxTree.ParseText(f.Text, ParseOptions, f.Path)).ToList();
        var unrelated0 = GeneratorBenchSources.Unrelated(0);
        trees.Add(CSharpSyntaxTree.ParseText(unrelated0.Text, ParseOptions, unrelated0.Path));
        var texts = model.Schemas.Select(s => (AdditionalText)new BenchText(s.Path, s.Text)).ToImmutableArray();
        CSharpCompilation Compile() => CSharpCompilation.Create(
            "Models",
            trees,
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver NewDriver() => CSharpGeneratorDriver.Create(
            [new SurgeryGenerator().AsSourceGenerator()],
            texts,
            ParseOptions,
            optionsProvider: null,
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

        // A run whose output is wrong has no time worth reporting: the cold run must emit both mirrors and the surgery, cleanly.
        var check = NewDriver().RunGenerators(Compile()).GetRunResult();
        var errors = check.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        if (errors.Count > 0 || !check.Results.Single().GeneratedSources.Any(s => s.HintName.Contains(".SurgeryFrom", StringComparison.Ordinal)))
        {
            throw new InvalidOperationException($"{model.Name}: the generator did not emit a clean surgery:\n{string.Join("\n", errors)}");
        }

        // Warm-up: JIT of the reader, tracer, differ and emitters, so the cold numbers are a clean build's, not a first process's.
        global::NeuralSurgery.Benchmarks.Measure.WarmUp(() => NewDriver().RunGenerators(Compile()), minRuns: 5, minMs: 2000);

        var cold = new Samples();
        GeneratorDriver driver = NewDriver();
        for (var i = 0; i < runs; i++)
        {
            var compilation = Compile();
            var fresh = NewDriver();
            cold.Add(Time(() => driver = fresh.RunGenerators(compilation)), driver);
        }

        var coldSteps = Reasons(driver);

        // Unrelated edit: the driver of the last run, a compilation whose only change is Notes.cs.
        var baseCompilation = Compile();
        driver = NewDriver().RunGenerators(baseCompilation);
        var notes = trees[^1];
        var unrelated = new Samples();
        var unrelatedReran = 0;
        var compilationNow = baseCompilation;
        for (var i = 1; i <= runs; i++)
        {
            var edit = GeneratorBenchSources.Unrelated(i);
            var next = compilationNow.ReplaceSyntaxTree(notes, notes = CSharpSyntaxTree.ParseText(edit.Text, ParseOptions, edit.Path));
            unrelated.Add(Time(() => driver = driver.RunGenerators(next)), driver);
            compilationNow = next;
            unrelatedReran += Reran(driver);
        }

        var unrelatedSteps = Reasons(driver);

        // Model edit: v2's widths change back and forth, so every run sees a graph different from the one before.
        var modelTree = compilationNow.SyntaxTrees.Single(t => t.FilePath == model.EditedFile);
        var original = model.Files.Single(f => f.Path == model.EditedFile).Text;
        var modelEdit = new Samples();
        var modelEditReran = int.MaxValue;
        for (var i = 1; i <= runs; i++)
        {
            var text = i % 2 == 1 ? model.Edit : original;
            var next = compilationNow.ReplaceSyntaxTree(modelTree, modelTree = CSharpSyntaxTree.ParseText(text, ParseOptions, model.EditedFile));
            modelEdit.Add(Time(() => driver = driver.RunGenerators(next)), driver);
            compilationNow = next;
            modelEditReran = Math.Min(modelEditReran, Reran(driver));
        }

        return new Result(
            model,
            cold.Medians(),
            unrelated.Medians(),
            modelEdit.Medians(),
            unrelatedReran,
            modelEditReran,
            coldSteps,
            unrelatedSteps,
            Reasons(driver));
    }

    /// <summary>Run times, with the own time of the reader and of the tracing and emitting steps that step tracking records.</summary>
    private sealed class Samples
    {
        private readonly List<double> _total = [];
        private readonly List<double> _reader = [];
        private readonly List<double> _traceEmit = [];

        public void Add(double totalMs, GeneratorDriver driver)
        {
            var steps = driver.GetRunResult().Results.Single().TrackedSteps;
            double Own(IEnumerable<string> names) => names.Where(steps.ContainsKey).SelectMany(n => steps[n]).Sum(run => run.ElapsedTime.TotalMilliseconds);
            _total.Add(totalMs);
            _reader.Add(Own([TrackingNames.ReadModels]));
            _traceEmit.Add(Own(TracingAndEmitting));
        }

        public Timing Medians() => new(
            global::NeuralSurgery.Benchmarks.Measure.Median(_total),
            global::NeuralSurgery.Benchmarks.Measure.Median(_reader),
            global::NeuralSurgery.Benchmarks.Measure.Median(_traceEmit));
    }

    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalMilliseconds;
    }

    /// <summary>How many outputs of the tracing and emitting steps were New or Modified in the driver's last run.</summary>
    private static int Reran(GeneratorDriver driver)
    {
        var steps = driver.GetRunResult().Results.Single().TrackedSteps;
        return TracingAndEmitting
            .Where(steps.ContainsKey)
            .SelectMany(step => steps[step])
            .SelectMany(run => run.Outputs)
            .Count(o => o.Reason is IncrementalStepRunReason.New or IncrementalStepRunReason.Modified);
    }

    /// <summary>Per shown step, its output reasons in the driver's last run, counted: <c>Cached×2</c>, <c>Modified×1 Cached×1</c>.</summary>
    private static Dictionary<string, string> Reasons(GeneratorDriver driver)
    {
        var steps = driver.GetRunResult().Results.Single().TrackedSteps;
        var table = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var step in ShownSteps.Where(steps.ContainsKey))
        {
            var counts = steps[step].SelectMany(run => run.Outputs).GroupBy(o => o.Reason).OrderBy(g => g.Key);
            var text = string.Join(" ", counts.Select(g => $"{g.Key}×{g.Count().ToString(Inv)}"));
            table[step] = text.Length == 0 ? "(no outputs)" : text;
        }

        return table;
    }

    /// <summary>The platform's System assemblies, the TorchSharp fixture, Core and Runtime: what a training repository compiles against.</summary>
    private static MetadataReference[] References()
    {
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return tpa
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Append(typeof(global::TorchSharp.torch).Assembly.Location)
            .Append(typeof(Graph.ModelGraph).Assembly.Location)
            .Append(typeof(Runtime.Checkpoints.StateDict).Assembly.Location)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToArray();
    }

    private static string Ms(double ms) => ms.ToString("F1", Inv);

    private static string Split(Timing t) => $"{Ms(t.ReaderMs)} / {Ms(t.TraceEmitMs)}";

    private static string RuntimeInformationText() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;

    private sealed class BenchText(string path, string text) : AdditionalText
    {
        private readonly SourceText _text = SourceText.From(text, Encoding.UTF8);

        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
    }
}
