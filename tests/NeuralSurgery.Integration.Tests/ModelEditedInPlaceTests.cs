using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace NeuralSurgery.Integration.Tests;

/// <summary>
/// Issue 13 with real builds: ONE class, Policy, edited in place through four versions in a fresh project that
/// references the NeuralSurgery packages from a folder feed. After each edit `dotnet build` runs: from the second
/// version on it warns NS2005 (changed since the latest snapshot); the project's own program then records the
/// version with the programmatic equivalent of `surgery snapshot add` (SnapshotFolder.Add with the generated
/// Mirror). Built at v4, the program upgrades a v1 checkpoint straight to v4 with the generated
/// Policy.Migrations.Upgrade and checks it against applying the steps one by one (same tensors) and eq. 1 against
/// the v1 model by the reference executor.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed class ModelEditedInPlaceTests(PackageFeed feed)
{
    /// <summary>v2 adds and reorders features, v3 renames one and adds a categorical value, v4 widens a layer and adds an action.</summary>
    private static (string Source, string Schema) Version(int v)
    {
        var (inputs, vocabulary, hidden, actions) = v switch
        {
            1 => (3, 2, 8, 2),
            2 => (4, 2, 8, 2),
            3 => (4, 3, 8, 2),
            _ => (4, 3, 16, 3),
        };
        var source = $$"""
            using NeuralSurgery;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

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

    /// <summary>The training project's own tool: record the class as a snapshot, write a checkpoint of it, upgrade one.</summary>
    private const string Program = """
        using System;
        using System.IO;
        using System.Linq;
        using Game;
        using NeuralSurgery.IO;
        using NeuralSurgery.Runtime.Checkpoints;
        using NeuralSurgery.Runtime.Execution;
        using NeuralSurgery.Runtime.Reference.Mapping;
        using NeuralSurgery.Schema;

        switch (args[0])
        {
            case "record":
            {
                // With a plan (what `surgery snapshot add --plan` does): the new version records it as its step.
                var step = args.Length > 3 ? NeuralSurgery.Json.PlanJson.Read(File.ReadAllText(args[3]), args[3]) : null;
                var recorded = SnapshotFolder.Add(args[1], "Policy", typeof(Policy).FullName!, "policy.features.yaml", File.ReadAllText(args[2]), Policy.Mirror.Graph, step);
                Console.WriteLine($"recorded Policy v{recorded.Snapshot.Version} added={recorded.Added} step={recorded.Snapshot.Step is not null}");
                return 0;
            }
            case "prune":
            {
                // What `surgery prune` does: units 1 and 5 of the encoder removed from a checkpoint, with the plan written.
                var schema = FeatureSchemaReader.ParseOrThrow(File.ReadAllText("policy.features.yaml"), "policy.features.yaml");
                var removal = NeuralSurgery.Diff.UnitRemoval.Plan(NeuralSurgery.Diff.ModelSide.Trace(Policy.Mirror.Graph, schema), "encoder", [1, 5]);
                File.WriteAllText(args[3], NeuralSurgery.Json.PlanJson.Write(removal.Plan));
                PlanExecutor.Apply(removal.Plan, args[1], args[2]);
                return 0;
            }
            case "same":
            {
                using var a = CheckpointReader.Open(args[1]);
                using var b = CheckpointReader.Open(args[2]);
                var same = a.Tensors.Select(t => t.Name).SequenceEqual(b.Tensors.Select(t => t.Name))
                    && b.Tensors.All(t => a.ReadAll(a.Get(t.Name)).AsSpan().SequenceEqual(b.ReadAll(t)));
                Console.WriteLine($"same tensors: {same}");
                return 0;
            }
            case "weights":
            {
                var rng = new Random(42);
                var dict = new StateDict();
                foreach (var p in Policy.Mirror.Graph.Parameters)
                {
                    var shape = p.Shape.Dims.Select(d => d.Value).ToArray();
                    dict.Add(p.Name, Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray(), shape);
                }

                dict.Save(args[1]);
                return 0;
            }
        #if WITH_MIGRATIONS // Policy.Migrations is generated once a snapshot is recorded: the last build defines this
            case "upgrade":
            {
                var (checkpoint, output, snapshots) = (args[1], args[2], args[3]);
                var from = Policy.Migrations.Upgrade(checkpoint, output);

                // The same steps one by one, through files.
                var path = checkpoint;
                var steps = Policy.Migrations.Steps(from);
                for (var i = 0; i < steps.Count; i++)
                {
                    var next = output + ".step" + (i + 1) + ".safetensors";
                    PlanExecutor.Apply(steps[i], path, next);
                    path = next;
                }

                bool same;
                using (var a = CheckpointReader.Open(output))
                using (var b = CheckpointReader.Open(path))
                {
                    same = a.Tensors.Select(t => t.Name).SequenceEqual(b.Tensors.Select(t => t.Name))
                        && b.Tensors.All(t => a.ReadAll(a.Get(t.Name)).AsSpan().SequenceEqual(b.ReadAll(t)));
                }

                // Eq. 1 against the v1 model by the reference executor. v3 renamed health to hp and v4's schema no longer
                // says so; inputs are matched by name, so the check is told.
                var chain = SnapshotFolder.Chain(snapshots, "Policy");
                var first = chain.Versions[from - 1];
                var current = FeatureSchemaReader.ParseOrThrow(File.ReadAllText("policy.features.yaml") + "renames:\n  health: hp\n", "policy.features.yaml");
                using var oldWeights = CheckpointReader.Open(checkpoint);
                using var newWeights = CheckpointReader.Open(output);
                var report = Verifier.Verify(first.Graph, first.ReadSchema(), oldWeights, Policy.Mirror.Graph, current, newWeights, samples: 200, seed: 7);
                var stamp = CheckpointStamp.Read(newWeights.Metadata, output)!;
                Console.WriteLine($"upgraded v{from} -> v{Policy.Migrations.CurrentVersion} in {steps.Count} steps; same tensors as one by one: {same}; stamp: {stamp.Model} v{stamp.Version}; outputs: {report.Outputs.Count}; max |F_old - F_new|: {report.MaxAbsDifference.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}");
                return 0;
            }
        #endif
            default:
                Console.Error.WriteLine("usage: record SNAPSHOTS SCHEMA [PLAN] | weights OUT | prune CHECKPOINT OUT PLAN | same A B | upgrade CHECKPOINT OUT SNAPSHOTS");
                return 2;
        }
        """;

    [Fact]
    public void One_class_edited_in_place_builds_with_the_package_after_each_edit_and_upgrades_a_v1_checkpoint_to_v4()
    {
        feed.AssertPacked();
        var consumer = feed.NewConsumer("evolution");
        var artifacts = Path.Combine(Path.GetDirectoryName(consumer)!, "artifacts");
        var project = Path.Combine(consumer, "Training.csproj");
        File.WriteAllText(project, """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="NeuralSurgery" Version="0.1.0" />
                <PackageReference Include="NeuralSurgery.Reference" Version="0.1.0" />
                <PackageReference Include="TorchSharp" Version="0.107.0" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), Program);
        var snapshots = Path.Combine(consumer, "Snapshots");
        var dll = Path.Combine(artifacts, "bin", "Training", "release", "Training.dll");
        DotnetResult Tool(params string[] args)
        {
            var run = Dotnet.Run([dll, .. args], consumer, Dotnet.BuildTimeout);
            Assert.True(run.ExitCode == 0, run.ToString());
            return run;
        }

        for (var v = 1; v <= 4; v++)
        {
            var (source, schema) = Version(v);
            File.WriteAllText(Path.Combine(consumer, "Policy.cs"), source);
            File.WriteAllText(Path.Combine(consumer, "policy.features.yaml"), schema);

            var build = Dotnet.Build(project, artifacts, referencesBuilt: v > 1);
            Assert.True(build.ExitCode == 0, build.ToString());
            var changed = build.Lines.Where(l => l.Contains("warning NS2005", StringComparison.Ordinal)).Distinct().ToList();
            if (v == 1)
            {
                Assert.Empty(changed);
            }
            else
            {
                Assert.True(changed.Count == 1, build.ToString());
                Assert.Contains($"'Policy' has changed since its latest snapshot Policy v{v - 1}", changed[0], StringComparison.Ordinal);
                Assert.Contains($"generated as Policy.SurgeryFromV{v - 1}", changed[0], StringComparison.Ordinal);
            }

            Assert.Contains($"recorded Policy v{v} added=True step=False", Tool("record", snapshots, Path.Combine(consumer, "policy.features.yaml")).Output, StringComparison.Ordinal);
            if (v == 1)
            {
                Tool("weights", Path.Combine(consumer, "policy.v1.safetensors"));
            }
        }

        // Recorded: the build is quiet, and checks the checkpoint versions the project declares (NS2008): v1 is reachable
        // through the snapshots, a version no snapshot has is not.
        var v1Fingerprint = JsonDocument.Parse(File.ReadAllText(Path.Combine(snapshots, "Policy.v1.snapshot.json"))).RootElement.GetProperty("fingerprint").GetString()!;
        var unknown = "0123456789abcdef";
        var final = Dotnet.Build(project, artifacts, referencesBuilt: true, $"NeuralSurgeryCheckpoints=Policy@{v1Fingerprint[..12]}%2CPolicy@{unknown}", "DefineConstants=WITH_MIGRATIONS");
        Assert.True(final.ExitCode == 0, final.ToString());
        Assert.DoesNotContain(final.Lines, l => l.Contains("NS2005", StringComparison.Ordinal) || l.Contains("NS2006", StringComparison.Ordinal));
        var unreachable = final.Lines.Where(l => l.Contains("warning NS2008", StringComparison.Ordinal)).Distinct().ToList();
        Assert.True(unreachable.Count == 1, final.ToString());
        Assert.Contains($"Checkpoints declared as 'Policy@{unknown}'", unreachable[0], StringComparison.Ordinal);
        Assert.Contains("Policy.cs", unreachable[0], StringComparison.Ordinal);

        var upgrade = Tool("upgrade", Path.Combine(consumer, "policy.v1.safetensors"), Path.Combine(consumer, "policy.v4.safetensors"), snapshots).Output;
        Assert.Contains("upgraded v1 -> v4 in 3 steps; same tensors as one by one: True; stamp: Policy v4; outputs: ", upgrade, StringComparison.Ordinal);
        var max = double.Parse(upgrade[(upgrade.IndexOf("max |F_old - F_new|: ", StringComparison.Ordinal) + "max |F_old - F_new|: ".Length)..].Trim(), CultureInfo.InvariantCulture);
        Assert.True(max <= 1e-5, upgrade);
        Assert.DoesNotContain("outputs: 0;", upgrade, StringComparison.Ordinal);

        // Issue 15, the class follows: prune the v4 checkpoint; with the plan in the project the build points at the
        // two literals that decide the changed widths (encoder 16 -> 14, head's input 20 -> 18).
        var plan = Path.Combine(consumer, "pruned.plan.json");
        var pruned = Path.Combine(consumer, "policy.pruned.safetensors");
        Tool("prune", Path.Combine(consumer, "policy.v4.safetensors"), pruned, plan);
        var pending = Dotnet.Build(project, artifacts, referencesBuilt: true, "DefineConstants=WITH_MIGRATIONS");
        Assert.True(pending.ExitCode == 0, pending.ToString());
        var widths = pending.Lines.Where(l => l.Contains("warning NS2009", StringComparison.Ordinal)).Distinct().ToList();
        Assert.True(widths.Count == 2, pending.ToString());
        Assert.Contains(widths, l => l.Contains("the literal 16 sets encoder.outputSize to 16, but after the plan 'pruned.plan.json' (made from this class) it is 14", StringComparison.Ordinal));
        Assert.Contains(widths, l => l.Contains("the literal 20 sets head.inputSize to 20", StringComparison.Ordinal) && l.Contains("it is 18", StringComparison.Ordinal));

        // The edit the code fix makes: the next build plans v4 -> the class as the pruning plan, not by index.
        var edited = Version(4).Source.Replace("Linear(4, 16)", "Linear(4, 14)", StringComparison.Ordinal).Replace("Linear(20, 3)", "Linear(18, 3)", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(consumer, "Policy.cs"), edited);
        var followed = Dotnet.Build(project, artifacts, referencesBuilt: true, "DefineConstants=WITH_MIGRATIONS");
        Assert.True(followed.ExitCode == 0, followed.ToString());
        Assert.DoesNotContain(followed.Lines, l => l.Contains("NS2009", StringComparison.Ordinal));
        var step = followed.Lines.Where(l => l.Contains("warning NS2005", StringComparison.Ordinal)).Distinct().ToList();
        Assert.True(step.Count == 1, followed.ToString());
        Assert.Contains("these are the widths of the plan 'pruned.plan.json', which the map follows", step[0], StringComparison.Ordinal);
        Assert.Contains("surgery snapshot add Policy.cs' (it finds 'pruned.plan.json' in the project and records it as the step)", step[0], StringComparison.Ordinal);

        Assert.Contains("recorded Policy v5 added=True step=True", Tool("record", snapshots, Path.Combine(consumer, "policy.features.yaml"), plan).Output, StringComparison.Ordinal);
        var recorded = Dotnet.Build(project, artifacts, referencesBuilt: true, "DefineConstants=WITH_MIGRATIONS");
        Assert.True(recorded.ExitCode == 0, recorded.ToString());
        Assert.DoesNotContain(recorded.Lines, l => l.Contains("NS2005", StringComparison.Ordinal) || l.Contains("NS2009", StringComparison.Ordinal));

        // A v4 checkpoint upgraded through the generated Migrations keeps the units the pruning kept, byte for byte.
        Tool("upgrade", Path.Combine(consumer, "policy.v4.safetensors"), Path.Combine(consumer, "policy.v5.safetensors"), snapshots);
        Assert.Contains("same tensors: True", Tool("same", pruned, Path.Combine(consumer, "policy.v5.safetensors")).Output, StringComparison.Ordinal);
    }
}
