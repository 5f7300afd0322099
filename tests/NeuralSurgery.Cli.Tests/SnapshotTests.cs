using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using NeuralSurgery.IO;
using NeuralSurgery.Json;

namespace NeuralSurgery.Cli.Tests;

/// <summary>
/// Issue 13: `surgery snapshot add` records a class edited in place as the next version of its chain, says when
/// nothing changed, and with --from-git records the class as it was at an older commit.
/// </summary>
public sealed class SnapshotTests : IDisposable
{
    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static string TorchSharp => typeof(global::TorchSharp.torch).Assembly.Location;

    /// <summary>One class, Policy, as it builds with the package; <paramref name="hidden"/> widens the encoder.</summary>
    private static string Source(int hidden, int inputs = 3) => CliHarness.PackageUsings + $$"""
        namespace Game;

        [SurgeryModel("policy.features.yaml")]
        public sealed partial class Policy : Module<Tensor, Tensor>
        {
            private readonly Linear encoder = Linear({{inputs}}, {{hidden}});
            private readonly Linear head = Linear({{hidden}}, 2);

            public Policy() : base(nameof(Policy)) => RegisterComponents();

            public override Tensor forward(Tensor obs) => head.forward(encoder.forward(obs).tanh());
        }
        """;

    private static string Schema(string features) => $$"""
        model: Policy
        version: 1
        inputs:
          obs:
            features: [{{features}}]
        outputs:
          action:
            features: [attack, retreat]
        """;

    [Fact]
    public void Add_records_each_change_as_the_next_version_and_nothing_when_unchanged()
    {
        var model = _h.Write("Policy.cs", Source(8));
        _h.Write("policy.features.yaml", Schema("health, mana, distance"));
        var folder = _h.PathOf("Snapshots");

        var first = CliHarness.Run("snapshot", "add", model, "--torchsharp", TorchSharp);
        Ok(first);
        Assert.StartsWith("recorded Policy v1 in ", first.Out, StringComparison.Ordinal);
        var v1 = Path.Combine(folder, "Policy.v1.snapshot.json");
        var snapshot = SnapshotJson.Read(File.ReadAllText(v1), v1);
        Assert.Equal(("Policy", "Game.Policy", 1, "policy.features.yaml"), (snapshot.Model, snapshot.ClassName, snapshot.Version, snapshot.SchemaFile));
        Assert.Equal(File.ReadAllText(v1), SnapshotJson.Write(snapshot));

        var again = CliHarness.Run("snapshot", "add", model, "--torchsharp", TorchSharp);
        Ok(again);
        Assert.StartsWith("Policy is unchanged since Policy v1 (", again.Out, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(folder));

        // Edited in place: a wider encoder and a reordered, extended feature list.
        _h.Write("Policy.cs", Source(16, 4));
        _h.Write("policy.features.yaml", Schema("mana, health, distance, gold"));
        var second = CliHarness.Run("snapshot", "add", model, "--torchsharp", TorchSharp);
        Ok(second);
        Assert.Contains("recorded Policy v2 in ", second.Out, StringComparison.Ordinal);
        Assert.Contains("  - input 'obs': feature added: 'gold'\n", second.Out, StringComparison.Ordinal);
        Assert.Contains("  - input 'obs': features reordered: 'health', 'mana', 'distance' -> 'mana', 'health', 'distance'\n", second.Out, StringComparison.Ordinal);
        Assert.Contains("  - parameter 'encoder.weight' [8, 3] -> [16, 4]\n", second.Out, StringComparison.Ordinal);
        Assert.Equal(new[] { 1, 2 }, SnapshotFolder.Chain(folder, "Policy").Versions.Select(s => s.Version));

        var list = CliHarness.Run("snapshot", "list", folder);
        CliHarness.AssertOk(list);
        Assert.Matches(@"\| Policy \| +v1 \|", list.Out);
        Assert.Matches(@"\| Policy \| +v2 \|", list.Out);
    }

    [Fact]
    public void A_hand_edited_snapshot_or_a_gap_in_the_chain_is_refused_with_the_file_named()
    {
        var model = _h.Write("Policy.cs", Source(8));
        _h.Write("policy.features.yaml", Schema("health, mana, distance"));
        Ok(CliHarness.Run("snapshot", "add", model, "--torchsharp", TorchSharp));
        var v1 = _h.PathOf("Snapshots/Policy.v1.snapshot.json");
        var original = File.ReadAllText(v1);

        File.WriteAllText(v1, original.Replace("\"mana\"", "\"gold\"", StringComparison.Ordinal).Replace("mana", "gold", StringComparison.Ordinal));
        CliHarness.AssertUserError(CliHarness.Run("snapshot", "list", _h.PathOf("Snapshots")), v1, "$.fingerprint", "never edited by hand");

        File.WriteAllText(v1, original);
        File.Move(v1, _h.PathOf("Snapshots/Policy.v2.snapshot.json"));
        CliHarness.AssertUserError(CliHarness.Run("snapshot", "list", _h.PathOf("Snapshots")), "Policy.v2.snapshot.json", "holds Policy v1", "Policy.v1.snapshot.json");
    }

    [Fact]
    public void From_git_records_the_class_as_it_was_at_an_older_commit()
    {
        var repo = Directory.CreateDirectory(_h.PathOf("repo")).FullName;
        Git(repo, "init", "-q");
        var model = Path.Combine(Directory.CreateDirectory(Path.Combine(repo, "src")).FullName, "Policy.cs");
        File.WriteAllText(model, Source(8));
        File.WriteAllText(Path.Combine(repo, "policy.features.yaml"), Schema("health, mana, distance"));
        Git(repo, "add", "-A");
        Git(repo, "commit", "-q", "-m", "v1");
        File.WriteAllText(model, Source(16));
        Git(repo, "commit", "-q", "-am", "wider");

        var old = CliHarness.Run("snapshot", "add", model, "--from-git", "HEAD~1", "--torchsharp", TorchSharp);
        Ok(old);
        Assert.Contains("recorded Policy v1 in ", old.Out, StringComparison.Ordinal);
        Assert.Contains("(as of HEAD~1)", old.Out, StringComparison.Ordinal);
        Assert.Contains("using schema HEAD~1:policy.features.yaml", old.Err, StringComparison.Ordinal);
        var current = CliHarness.Run("snapshot", "add", model, "--torchsharp", TorchSharp);
        Ok(current);
        Assert.Contains("parameter 'encoder.weight' [8, 3] -> [16, 3]", current.Out, StringComparison.Ordinal);
        var chain = SnapshotFolder.Chain(Path.Combine(repo, "src", "Snapshots"), "Policy");
        Assert.Equal(8, chain.Versions[0].Graph.Parameters.Single(p => p.Name == "encoder.weight").Shape.Dims[0].Value);

        // The work tree is left as it was; a revision that is no commit is a user error naming it.
        Assert.Equal(Source(16), File.ReadAllText(model));
        CliHarness.AssertUserError(CliHarness.Run("snapshot", "add", model, "--from-git", "nope", "--torchsharp", TorchSharp), "--from-git nope: not a commit");
    }

    /// <summary>Exit 0; stderr holds only the line saying which schema the attribute named.</summary>
    private static void Ok(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.All(result.ErrLines, line => Assert.StartsWith("using schema ", line, StringComparison.Ordinal));
    }

    private static void Git(string folder, params string[] args)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-c", "user.name=test", "-c", "user.email=test@example.com" }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"git {string.Join(' ', args)}: {error}");
    }
}
