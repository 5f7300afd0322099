using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using NeuralSurgery.Generator;
using NeuralSurgery.IO;
using NeuralSurgery.Runtime.Checkpoints;
using NeuralSurgery.Runtime.Execution;
using NeuralSurgery.Runtime.Reference.Mapping;

namespace NeuralSurgery.Cli.Tests;

/// <summary>
/// Issue 13 end to end: ONE class, Policy, edited in place through four versions (features added and reordered, a
/// feature renamed and a categorical value added, a layer widened and an action added). After each edit the build
/// (the source generator over the same files) reports NS2005 until `surgery snapshot add` records the version; a
/// v1 checkpoint is then upgraded straight to v4 by `surgery upgrade`: eq. 1 holds by the reference executor and
/// the bytes equal applying the three steps one by one.
/// </summary>
public sealed class ModelEvolutionTests : IDisposable
{
    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static string TorchSharp => typeof(global::TorchSharp.torch).Assembly.Location;

    private static (string Source, string Schema) Version(int v)
    {
        var (inputs, vocabulary, hidden, actions) = v switch
        {
            1 => (3, 2, 8, 2),
            2 => (4, 2, 8, 2),
            3 => (4, 3, 8, 2),
            _ => (4, 3, 16, 3),
        };
        var source = CliHarness.PackageUsings + $$"""
            namespace Game;

            [SurgeryModel("policy.features.yaml")]
            public sealed partial class Policy : Module<Tensor, Tensor, Tensor>
            {
                private readonly Linear encoder = Linear({{inputs}}, {{hidden}});
                private readonly Embedding hero = Embedding({{vocabulary}}, 4);
                private readonly Linear head = Linear({{hidden + 4}}, {{actions}});

                public Policy() : base(nameof(Policy)) => RegisterComponents();

                public override Tensor forward(Tensor obs, Tensor hero_id) =>
                    head.forward(torch.cat([functional.relu(encoder.forward(obs)), hero.call(hero_id)], -1));
            }
            """;
        var features = v switch
        {
            1 => "health, mana, distance",
            2 => "mana, health, distance, gold",
            _ => "mana, hp, distance, gold",
        };
        var schema = $$"""
            model: Policy
            version: {{v}}
            inputs:
              obs:
                features: [{{features}}]
              hero_id:
                categorical: [{{(vocabulary == 2 ? "axe, bane" : "axe, bane, lich")}}]
            outputs:
              action:
                features: [{{(actions == 2 ? "attack, retreat" : "attack, retreat, heal")}}]
            {{(v == 3 ? "renames:\n  health: hp\n" : string.Empty)}}
            """;
        return (source, schema);
    }

    [Fact]
    public void One_class_evolved_in_place_upgrades_a_v1_checkpoint_straight_to_v4()
    {
        var model = _h.PathOf("Policy.cs");
        var folder = _h.PathOf("Snapshots");
        for (var v = 1; v <= 4; v++)
        {
            Edit(v);

            // The build before recording: after the first version, it notices the change and plans from the snapshot.
            var before = Build();
            Assert.DoesNotContain(before, d => d.Severity == DiagnosticSeverity.Error);
            if (v > 1)
            {
                var changed = Assert.Single(before, d => d.Id == "NS2005");
                Assert.Contains($"latest snapshot Policy v{v - 1}", changed.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            }

            var add = CliHarness.Run("snapshot", "add", model, "--torchsharp", TorchSharp);
            Assert.True(add.ExitCode == 0, add.ToString());
            Assert.Contains($"recorded Policy v{v} in ", add.Out, StringComparison.Ordinal);
            Assert.DoesNotContain(Build(), d => d.Id == "NS2005" || d.Severity == DiagnosticSeverity.Error);
        }

        var chain = SnapshotFolder.Chain(folder, "Policy");
        Assert.Equal(4, chain.Versions.Count);
        var v1 = chain.Versions[0];
        var v4 = chain.Versions[3];
        var checkpoint = _h.PathOf("policy.v1.safetensors");
        Weights(v1.Graph).Save(checkpoint);

        var upgraded = _h.PathOf("policy.v4.safetensors");
        var result = CliHarness.Run("upgrade", checkpoint, "--snapshots", folder, "--to", "latest", "--out", upgraded);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.Out.StartsWith($"{checkpoint}: Policy v1 (by its names and shapes)\nupgraded to Policy v4: 3 steps composed into one plan; ", StringComparison.Ordinal), result.Out);

        // Identical to applying the steps one by one.
        var path = checkpoint;
        var steps = chain.Steps(1, 4);
        for (var i = 0; i < steps.Count; i++)
        {
            var next = _h.PathOf($"step{i + 2}.safetensors");
            PlanExecutor.Apply(steps[i], path, next);
            path = next;
        }

        using (var a = CheckpointReader.Open(upgraded))
        using (var b = CheckpointReader.Open(path))
        {
            Assert.Equal(b.Tensors.Select(t => t.Name), a.Tensors.Select(t => t.Name));
            foreach (var tensor in b.Tensors)
            {
                Assert.Equal(b.ReadAll(tensor), a.ReadAll(a.Get(tensor.Name)));
            }

            // Stamped: the next upgrade needs no guessing.
            Assert.Equal(new CheckpointStamp("Policy", 4, v4.Fingerprint), CheckpointStamp.Read(a.Metadata, upgraded));
        }

        // The generated Policy.Migrations does the same from the build's own data: it detects v1 and writes the same tensors.
        var (_, built) = BuildWithOutput();
        using var image = new MemoryStream();
        var emitted = built.Emit(image);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
        var context = new System.Runtime.Loader.AssemblyLoadContext("evolution", isCollectible: true);
        try
        {
            image.Position = 0;
            var migrations = context.LoadFromStream(image).GetType("Game.Policy+Migrations", throwOnError: true)!;
            var generated = _h.PathOf("policy.v4.generated.safetensors");
            var upgrade = migrations.GetMethod("Upgrade", [typeof(string), typeof(string), typeof(ApplyOptions)])!;
            Assert.Equal(1, upgrade.Invoke(null, [checkpoint, generated, null]));
            Assert.Equal(4, migrations.GetField("CurrentVersion")!.GetValue(null));
            using var a = CheckpointReader.Open(generated);
            using var b = CheckpointReader.Open(upgraded);
            Assert.Equal(b.Tensors.Select(t => t.Name), a.Tensors.Select(t => t.Name));
            foreach (var tensor in b.Tensors)
            {
                Assert.Equal(b.ReadAll(tensor), a.ReadAll(a.Get(tensor.Name)));
            }

            Assert.Equal(new CheckpointStamp("Policy", 4, v4.Fingerprint), CheckpointStamp.Read(a.Metadata, generated));
        }
        finally
        {
            context.Unload();
        }

        // Eq. 1 by the reference executor: the v4 model computes what the v1 model did on every old output.
        using (var oldWeights = CheckpointReader.Open(checkpoint))
        using (var newWeights = CheckpointReader.Open(upgraded))
        {
            // v3 renamed health to hp; v4's schema no longer says so, so the check is told (inputs are matched by name).
            var v4Schema = Schema.FeatureSchemaReader.ParseOrThrow(v4.SchemaText + "renames:\n  health: hp\n", v4.SchemaFile);
            var report = Verifier.Verify(v1.Graph, v1.ReadSchema(), oldWeights, v4.Graph, v4Schema, newWeights, samples: 200, seed: 7);
            Assert.NotEmpty(report.Outputs);
            Assert.True(report.MaxAbsDifference <= 1e-5, $"max |F_old - F_new| = {report.MaxAbsDifference}");
        }
    }

    [Fact]
    public void Every_version_is_detected_stamped_or_not_and_what_fits_several_or_none_is_refused()
    {
        var model = _h.PathOf("Policy.cs");
        var folder = _h.PathOf("Snapshots");
        for (var v = 1; v <= 4; v++)
        {
            Edit(v);
            Assert.Equal(0, CliHarness.Run("snapshot", "add", model, "--torchsharp", TorchSharp).ExitCode);
        }

        var chain = SnapshotFolder.Chain(folder, "Policy");
        var candidates = chain.Versions.Select(s => VersionCandidate.FromGraph(s.Model, s.Version, s.Fingerprint, s.Graph)).ToList();
        foreach (var snapshot in chain.Versions)
        {
            var weights = Weights(snapshot.Graph);
            Assert.Equal(snapshot.Version, VersionDetector.Detect(weights, "unstamped", candidates) is { Stamped: false } d ? d.Version.Version : -1);
            foreach (var entry in new CheckpointStamp("Policy", snapshot.Version, snapshot.Fingerprint).ToMetadata())
            {
                weights.Metadata[entry.Key] = entry.Value;
            }

            Assert.Equal(snapshot.Version, VersionDetector.Detect(weights, "stamped", candidates) is { Stamped: true } s ? s.Version.Version : -1);

            // The generated code recognises versions from its own data as the CLI does from the snapshots.
            var fromSignature = VersionCandidate.FromSignature("Policy", snapshot.Version, snapshot.Fingerprint, Snapshots.ModelSnapshot.SignatureOf(snapshot.Graph));
            Assert.Equal(candidates[snapshot.Version - 1], fromSignature);
        }

        // A reorder keeps every shape: v2 and a v5 that only reorders fit the same unstamped checkpoint.
        var reordered = candidates[1] with { Version = 5, Fingerprint = "another" };
        var ambiguous = Assert.Throws<VersionDetectionException>(() => VersionDetector.Detect(Weights(chain.Versions[1].Graph), "v2.ckpt", [.. candidates, reordered]));
        Assert.Equal("v2.ckpt: no version stamp, and its names and shapes fit several versions: Policy v2, Policy v5 (a reorder or rename keeps every shape); say which with the version option", ambiguous.Message);

        // A checkpoint of another model: what did not match the closest version is named.
        var other = new StateDict();
        other.Add("fc.weight", new float[6], 2, 3);
        var unknown = Assert.Throws<VersionDetectionException>(() => VersionDetector.Detect(other, "other.ckpt", candidates));
        Assert.StartsWith("other.ckpt: no version stamp, and its names and shapes fit no recorded version of Policy (v1 to v4); closest is ", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("'fc.weight' is not in Policy v", unknown.Message, StringComparison.Ordinal);

        var stranger = new StateDict();
        foreach (var entry in new CheckpointStamp("Scout", 2, "abc").ToMetadata())
        {
            stranger.Metadata[entry.Key] = entry.Value;
        }

        Assert.Equal("other.ckpt: stamped as a checkpoint of model 'Scout' (v2); expected one of 'Policy'",
            Assert.Throws<VersionDetectionException>(() => VersionDetector.Detect(stranger, "other.ckpt", candidates)).Message);

        // The CLI says the same for an ambiguous or unknown checkpoint and writes nothing.
        var odd = _h.PathOf("other.safetensors");
        other.Save(odd);
        CliHarness.AssertUserError(CliHarness.Run("upgrade", odd, "--snapshots", folder, "--out", _h.PathOf("out.safetensors")), "fit no recorded version of Policy");
        Assert.False(File.Exists(_h.PathOf("out.safetensors")));
    }

    /// <summary>The class and its schema edited in place to version <paramref name="v"/>.</summary>
    private void Edit(int v)
    {
        var (source, schema) = Version(v);
        _h.Write("Policy.cs", source);
        _h.Write("policy.features.yaml", schema);
    }

    /// <summary>Weights for a graph: distinct, small values per element (deterministic).</summary>
    private static StateDict Weights(Graph.ModelGraph graph)
    {
        var rng = new Random(42);
        var dict = new StateDict();
        foreach (var p in graph.Parameters)
        {
            var shape = p.Shape.Dims.Select(d => d.Value).ToArray();
            var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)((rng.NextDouble() * 2) - 1);
            }

            dict.Add(p.Name, values, shape);
        }

        return dict;
    }

    /// <summary>The build: the source generator over the model file with the schema and snapshots on disk as AdditionalFiles.</summary>
    private ImmutableArray<Diagnostic> Build() => BuildWithOutput().Diagnostics;

    private (ImmutableArray<Diagnostic> Diagnostics, Compilation Output) BuildWithOutput()
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var references = tpa
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Append(TorchSharp)
            .Append(typeof(Graph.ModelGraph).Assembly.Location)
            .Append(typeof(StateDict).Assembly.Location)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p));
        var model = _h.PathOf("Policy.cs");
        var compilation = CSharpCompilation.Create(
            "Training",
            [CSharpSyntaxTree.ParseText(File.ReadAllText(model), parse, model)],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var files = Directory.EnumerateFiles(_h.Dir, "*.features.yaml")
            .Concat(Directory.Exists(_h.PathOf("Snapshots")) ? Directory.EnumerateFiles(_h.PathOf("Snapshots"), "*.snapshot.json") : [])
            .Select(p => (AdditionalText)new FileText(p));
        CSharpGeneratorDriver.Create([new SurgeryGenerator().AsSourceGenerator()], files, parse)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        var compileErrors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(compileErrors.Count == 0, string.Join("\n", compileErrors));
        return (diagnostics, output);
    }

    private sealed class FileText(string path) : AdditionalText
    {
        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(File.ReadAllText(Path), Encoding.UTF8);
    }
}
