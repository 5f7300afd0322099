using System.IO;
using System.Linq;
using NeuralSurgery.Json;
using NeuralSurgery.Runtime.Checkpoints;

namespace NeuralSurgery.Cli.Tests;

/// <summary><c>surgery prune</c> and <c>surgery grow</c>: a checkpoint and a plan written together, the new widths with where the class sets them, bad input refused with nothing written.</summary>
public sealed class UnitsTests : System.IDisposable
{
    private const string Source = """
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        namespace Game;

        public sealed class Mlp : Module<Tensor, Tensor>
        {
            private readonly Linear fc1;
            private readonly Linear fc2;

            public Mlp(long hidden = 6) : base(nameof(Mlp))
            {
                fc1 = Linear(4, hidden);
                fc2 = Linear(hidden, 3);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => fc2.forward(functional.relu(fc1.forward(x)));
        }
        """;

    private readonly CliHarness _h = new();

    public UnitsTests()
    {
        Model = _h.Write("Mlp.cs", Source);
        Schema = _h.Write("mlp.features.yaml", "model: Mlp\nversion: 1\ninputs:\n  x:\n    features: [{ name: a, width: 4 }]\noutputs:\n  y:\n    features: [p, q, r]\n");
        Checkpoint = _h.PathOf("mlp.safetensors");
        var dict = new StateDict();
        dict.Add("fc1.weight", Enumerable.Range(0, 24).Select(i => i / 4 == 3 ? 0.001f * i : 1f + i).ToArray(), 6, 4); // unit 3 is the weakest
        dict.Add("fc1.bias", Enumerable.Range(0, 6).Select(i => i == 3 ? 0f : 0.5f).ToArray(), 6);
        dict.Add("fc2.weight", Enumerable.Range(0, 18).Select(i => i % 6 == 3 ? 0.001f : 2f + i).ToArray(), 3, 6);
        dict.Add("fc2.bias", [0.1f, 0.2f, 0.3f], 3);
        dict.Save(Checkpoint);
    }

    private string Model { get; }

    private string Schema { get; }

    private string Checkpoint { get; }

    private static string Fixture => typeof(global::TorchSharp.torch).Assembly.Location;

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Prune_named_units_writes_the_narrowed_checkpoint_and_the_plan_and_says_which_argument_to_change()
    {
        var output = _h.PathOf("pruned.safetensors");
        var result = Run("prune", "--layer", "fc1", "--units", "1,4", "--out", output);
        CliHarness.AssertOk(result);
        var before = StateDict.Load(Checkpoint);
        var after = StateDict.Load(output);
        Assert.Equal([4L, 4], after.Find("fc1.weight")!.Shape.ToArray());
        Assert.Equal([3L, 4], after.Find("fc2.weight")!.Shape.ToArray());
        var kept = new[] { 0, 2, 3, 5 };
        Assert.Equal(kept.SelectMany(r => before.Float32("fc1.weight").Slice(r * 4, 4).ToArray()), after.Float32("fc1.weight").ToArray());
        Assert.Equal(Enumerable.Range(0, 3).SelectMany(r => kept.Select(c => before.Float32("fc2.weight")[(r * 6) + c])), after.Float32("fc2.weight").ToArray());
        var plan = PlanJson.Read(File.ReadAllText(output + ".plan.json"), output + ".plan.json");
        Assert.Equal([4L, 4], plan.FindTensor("fc1.weight")!.Shape);

        Assert.Contains("removed units 1, 4 of 'fc1'", result.Out);
        Assert.Matches(@"\| fc1 +\| outputSize +\| +6 \| +4 \| parameter 'hidden' \(its default, 6\) at Mlp\.cs:13 \(read by Linear at Mlp\.cs:15\): write 4", result.Out.Replace("\n", " "));
        Assert.Matches(@"\| fc2 +\| inputSize +\| +6 \| +4 \|", result.Out);
    }

    [Fact]
    public void Prune_lowest_removes_the_unit_of_least_weight_magnitude()
    {
        var output = _h.PathOf("pruned.bin");
        CliHarness.AssertOk(Run("prune", "--layer", "fc1", "--lowest", "1", "--out", output, "--plan-out", _h.PathOf("p.json")));
        Assert.Contains("\"Units\"", File.ReadAllText(_h.PathOf("p.json")), System.StringComparison.OrdinalIgnoreCase);
        var after = StateDict.Load(output);
        Assert.DoesNotContain(after.Float32("fc1.weight").ToArray(), v => v < 0.5f); // unit 3's small weights are gone
        Assert.Equal(5L, after.Find("fc1.bias")!.Shape[0]);
    }

    [Fact]
    public void Prune_with_data_folds_the_removed_units_mean_output_into_the_next_bias()
    {
        var x = Enumerable.Range(0, 80).Select(i => (float)((i * 37 % 11) - 3) / 4).ToArray(); // 20 samples of 4
        var data = _h.PathOf("data.safetensors");
        var samples = new StateDict();
        samples.Add("x", x, 20, 4);
        samples.Save(data);
        var output = _h.PathOf("pruned.safetensors");
        var result = Run("prune", "--layer", "fc1", "--units", "3", "--data", data, "--out", output);
        CliHarness.AssertOk(result);
        Assert.Contains("folded into 'fc2.bias'", result.Out);

        // Paper 002 eq. 1.6: b += W[:, 3] · E[relu(x · w_3 + b_3)].
        var before = StateDict.Load(Checkpoint);
        var w3 = before.Float32("fc1.weight").Slice(12, 4).ToArray();
        var mean = Enumerable.Range(0, 20).Average(n => System.Math.Max(0, Enumerable.Range(0, 4).Sum(j => (double)x[(n * 4) + j] * w3[j]) + before.Float32("fc1.bias")[3]));
        Assert.True(mean > 0.01, "the unit is live on this data");
        var bias = StateDict.Load(output).Float32("fc2.bias").ToArray();
        for (var r = 0; r < 3; r++)
        {
            Assert.Equal(before.Float32("fc2.bias")[r] + (before.Float32("fc2.weight")[(r * 6) + 3] * mean), bias[r], 5);
        }
    }

    [Fact]
    public void Data_without_the_models_input_is_a_user_error_naming_the_tensor()
    {
        var data = _h.PathOf("data.safetensors");
        var samples = new StateDict();
        samples.Add("features", new float[8], 2, 4);
        samples.Save(data);
        var output = _h.PathOf("pruned.safetensors");
        CliHarness.AssertUserError(Run("prune", "--layer", "fc1", "--units", "3", "--data", data, "--out", output), data, "tensor 'x' is missing");
        Assert.False(File.Exists(output));
        Assert.False(File.Exists(output + ".plan.json"));
    }

    [Fact]
    public void Grow_adds_units_with_zero_fan_out()
    {
        var output = _h.PathOf("grown.safetensors");
        var result = Run("grow", "--layer", "fc1", "--count", "2", "--out", output, "--seed", "3");
        CliHarness.AssertOk(result);
        var before = StateDict.Load(Checkpoint);
        var after = StateDict.Load(output);
        Assert.Equal([8L, 4], after.Find("fc1.weight")!.Shape.ToArray());
        Assert.Equal(before.Float32("fc1.weight").ToArray(), after.Float32("fc1.weight")[..24].ToArray());
        Assert.Contains(after.Float32("fc1.weight")[24..].ToArray(), v => v != 0); // random fan-in
        for (var r = 0; r < 3; r++)
        {
            Assert.Equal(before.Float32("fc2.weight").Slice(r * 6, 6).ToArray(), after.Float32("fc2.weight").Slice(r * 8, 6).ToArray());
            Assert.Equal([0f, 0f], after.Float32("fc2.weight").Slice((r * 8) + 6, 2).ToArray()); // zero fan-out
        }

        Assert.Contains("added units 6..7 to 'fc1' with zero fan-out", result.Out);
        Assert.Matches(@"\| fc1 +\| outputSize +\| +6 \| +8 \| parameter 'hidden' \(its default, 6\)", result.Out);
    }

    [Theory]
    [InlineData("prune", "fc9", "--units", "1", "no layer 'fc9' with units; expected one of 'fc1'")]
    [InlineData("prune", "fc1", "--units", "6", "unit 6 of layer 'fc1' is out of range; expected 0 to 5")]
    [InlineData("prune", "fc1", "--units", "1,x", "'x' is not a unit index")]
    [InlineData("prune", "fc1", "--lowest", "6", "--lowest 6: layer 'fc1' has 6 units; expected 1 to 5")]
    [InlineData("grow", "fc2", "--count", "1", "units of layer 'fc2' reach output")]
    [InlineData("grow", "fc1", "--count", "0", "adding 0 units to layer 'fc1'; expected at least 1")]
    public void Bad_requests_are_user_errors_that_write_nothing(string command, string layer, string option, string value, string message)
    {
        var output = _h.PathOf("new.safetensors");
        CliHarness.AssertUserError(Run(command, "--layer", layer, option, value, "--out", output), message);
        AssertNothingWritten(output);
    }

    [Fact]
    public void A_corrupt_checkpoint_is_a_user_error_naming_it_and_writes_nothing()
    {
        var bytes = File.ReadAllBytes(Checkpoint);
        var corrupt = _h.PathOf("corrupt.safetensors");
        File.WriteAllBytes(corrupt, bytes[..(bytes.Length - 10)]);
        var output = _h.PathOf("new.safetensors");
        CliHarness.AssertUserError(CliHarness.Run("grow", "--model", Model, "--schema", Schema, "--torchsharp", Fixture, "--in", corrupt, "--layer", "fc1", "--count", "1", "--out", output), corrupt);
        AssertNothingWritten(output);
    }

    [Fact]
    public void A_checkpoint_of_another_shape_is_refused_by_tensor_name()
    {
        var other = _h.PathOf("other.safetensors");
        var dict = StateDict.Load(Checkpoint);
        dict.Replace(TensorInfo.Create("fc2.bias", DType.Float32, 4), new byte[16]);
        dict.Save(other);
        var output = _h.PathOf("new.safetensors");
        CliHarness.AssertUserError(CliHarness.Run("prune", "--model", Model, "--schema", Schema, "--torchsharp", Fixture, "--in", other, "--layer", "fc1", "--units", "0", "--out", output), "'fc2.bias'");
        AssertNothingWritten(output);
    }

    [Theory]
    [InlineData("private readonly Linear fc1 = Linear(4, 6);\n    private readonly Linear fc2 = Linear(6, 3);", "public Mlp()", "the literal 6 at Mlp.cs:{0}: write 8", "the literal 6 at Mlp.cs:{1}: write 8")]
    [InlineData("private readonly Linear fc1 = Linear(4, hidden);\n    private readonly Linear fc2 = Linear(hidden, 3);", "public Mlp(long hidden = 6)", "parameter 'hidden' (its default, 6) at Mlp.cs:8 (read by Linear at Mlp.cs:{0}): write 8", "parameter 'hidden' (its default, 6) at Mlp.cs:8 (read by Linear at Mlp.cs:{1}): write 8")]
    public void Widths_set_in_field_initializers_are_found_as_literals_or_primary_constructor_parameters(string fields, string constructor, string fc1Site, string fc2Site)
    {
        // The class's header line decides between a plain and a primary constructor.
        var primary = constructor.Contains("hidden", System.StringComparison.Ordinal);
        var header = primary ? "public sealed class Mlp(long hidden = 6) : Module<Tensor, Tensor>(nameof(Mlp))" : "public sealed class Mlp : Module<Tensor, Tensor>";
        var body = primary ? string.Empty : "\n    " + constructor + " : base(nameof(Mlp)) => RegisterComponents();";
        var source = "using TorchSharp;\nusing TorchSharp.Modules;\nusing static TorchSharp.torch;\nusing static TorchSharp.torch.nn;\n\nnamespace Game;\n\n"
            + header + "\n{\n    " + fields + body
            + "\n\n    public override Tensor forward(Tensor x) => fc2.forward(functional.relu(fc1.forward(x)));\n}\n";
        _h.Write("Mlp.cs", source);
        var lines = source.Split('\n');
        var fc1Line = System.Array.FindIndex(lines, l => l.Contains("fc1 = ", System.StringComparison.Ordinal)) + 1;
        var fc2Line = System.Array.FindIndex(lines, l => l.Contains("fc2 = ", System.StringComparison.Ordinal)) + 1;

        var output = _h.PathOf("grown.safetensors");
        var result = Run("grow", "--layer", "fc1", "--count", "2", "--out", output);
        // A primary constructor cannot call RegisterComponents(): the reader rightly warns NS1014 on stderr, and goes on.
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(primary, result.Err.Contains("NS1014", System.StringComparison.Ordinal));
        var text = result.Out.Replace("\n", " ", System.StringComparison.Ordinal);
        Assert.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, fc1Site, fc1Line, fc2Line), text, System.StringComparison.Ordinal);
        Assert.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, fc2Site, fc1Line, fc2Line), text, System.StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue 15, the class follows: prune, give the class the plan's width, record the version (the plan is found in
    /// the project and becomes the step), and an old checkpoint upgraded through the chain keeps the same units the
    /// pruning kept, byte for byte. A class at other widths than the plan's is refused, and nothing is recorded.
    /// </summary>
    [Fact]
    public void After_a_pruning_the_recorded_version_has_the_plan_as_its_step_and_upgrades_keep_the_pruned_units()
    {
        string[] Snapshot(params string[] extra) => ["snapshot", "add", Model, "--schema", Schema, "--torchsharp", Fixture, .. extra];
        var pruned = _h.PathOf("pruned.safetensors");
        CliHarness.AssertOk(Run("prune", "--layer", "fc1", "--units", "1,4", "--out", pruned));
        var plan = pruned + ".plan.json";

        // A plan with no recorded version to start from: said, not ignored.
        CliHarness.AssertUserError(CliHarness.Run(Snapshot("--plan", plan)), "pruned.safetensors.plan.json", "no version of Mlp is recorded");
        Assert.False(Directory.Exists(Path.Combine(_h.Dir, "Snapshots")));
        CliHarness.AssertOk(CliHarness.Run(Snapshot()));

        // Not yet at the plan's widths (5, not 4): refused with what differs, nothing recorded.
        File.WriteAllText(Model, Source.Replace("long hidden = 6", "long hidden = 5", System.StringComparison.Ordinal));
        CliHarness.AssertUserError(CliHarness.Run(Snapshot("--plan", plan)), "pruned.safetensors.plan.json", "give it the plan's widths first");
        Assert.False(File.Exists(Path.Combine(_h.Dir, "Snapshots", "Mlp.v2.snapshot.json")));

        File.WriteAllText(Model, Source.Replace("long hidden = 6", "long hidden = 4", System.StringComparison.Ordinal));
        var recorded = CliHarness.Run(Snapshot());
        CliHarness.AssertOk(recorded);
        Assert.Contains("recorded Mlp v2", recorded.Out, System.StringComparison.Ordinal);
        Assert.Contains("pruned.safetensors.plan.json as its step", recorded.Out, System.StringComparison.Ordinal);
        var v2 = SnapshotJson.Read(File.ReadAllText(Path.Combine(_h.Dir, "Snapshots", "Mlp.v2.snapshot.json")));
        Assert.Equal(PlanJson.Read(File.ReadAllText(plan)).Tensors, v2.Step!.Tensors);

        var upgraded = _h.PathOf("upgraded.safetensors");
        CliHarness.AssertOk(CliHarness.Run("upgrade", Checkpoint, "--snapshots", Path.Combine(_h.Dir, "Snapshots"), "--out", upgraded));
        AssertSameWeights(pruned, upgraded);
    }

    /// <summary>Two prunings with the class edited after each and no snapshot recorded between: one step keeps what both kept.</summary>
    [Fact]
    public void Two_prunings_recorded_at_once_compose_into_one_step()
    {
        string[] Snapshot(params string[] extra) => ["snapshot", "add", Model, "--schema", Schema, "--torchsharp", Fixture, .. extra];
        CliHarness.AssertOk(CliHarness.Run(Snapshot()));
        var first = _h.PathOf("first.safetensors");
        CliHarness.AssertOk(Run("prune", "--layer", "fc1", "--units", "1,4", "--out", first));       // keeps 0 2 3 5
        File.WriteAllText(Model, Source.Replace("long hidden = 6", "long hidden = 4", System.StringComparison.Ordinal));
        var second = _h.PathOf("second.safetensors");
        CliHarness.AssertOk(CliHarness.Run("prune", "--model", Model, "--schema", Schema, "--torchsharp", Fixture, "--in", first, "--layer", "fc1", "--units", "0", "--out", second)); // keeps 2 3 5
        File.WriteAllText(Model, Source.Replace("long hidden = 6", "long hidden = 3", System.StringComparison.Ordinal));

        var recorded = CliHarness.Run(Snapshot());
        CliHarness.AssertOk(recorded);
        Assert.Matches(@"with the plans \S*first\.safetensors\.plan\.json, \S*second\.safetensors\.plan\.json as its step", recorded.Out);
        var v2 = SnapshotJson.Read(File.ReadAllText(Path.Combine(_h.Dir, "Snapshots", "Mlp.v2.snapshot.json")));
        Assert.Equal([2L, 3, 5], Assert.Single(v2.Step!.Options.UnitMaps).Sources);

        var upgraded = _h.PathOf("upgraded.safetensors");
        CliHarness.AssertOk(CliHarness.Run("upgrade", Checkpoint, "--snapshots", Path.Combine(_h.Dir, "Snapshots"), "--out", upgraded));
        AssertSameWeights(second, upgraded);
    }

    [Fact]
    public void A_plan_written_outside_the_models_project_is_pointed_out()
    {
        var project = Directory.CreateDirectory(Path.Combine(_h.Dir, "src")).FullName;
        File.WriteAllText(Path.Combine(project, "Game.csproj"), "<Project Sdk=\"Microsoft.NET.Sdk\" />");
        var model = Path.Combine(project, "Mlp.cs");
        File.WriteAllText(model, Source);
        string[] Prune(string output) => ["prune", "--model", model, "--schema", Schema, "--torchsharp", Fixture, "--in", Checkpoint, "--layer", "fc1", "--units", "0", "--out", output];

        var outside = CliHarness.Run(Prune(_h.PathOf("pruned.safetensors")));
        CliHarness.AssertOk(outside);
        Assert.Contains("the plan is outside the model's project (" + project + ")", outside.Out.Replace("\n", " ", System.StringComparison.Ordinal), System.StringComparison.Ordinal);

        var inside = CliHarness.Run([.. Prune(_h.PathOf("pruned2.safetensors")), "--plan-out", Path.Combine(project, "prune.plan.json")]);
        CliHarness.AssertOk(inside);
        Assert.DoesNotContain("outside the model's project", inside.Out, System.StringComparison.Ordinal);
    }

    private static void AssertSameWeights(string expected, string actual)
    {
        var a = StateDict.Load(expected);
        var b = StateDict.Load(actual);
        foreach (var name in new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" })
        {
            Assert.Equal(a.Float32(name).ToArray(), b.Float32(name).ToArray());
        }
    }

    private CliResult Run(params string[] args) => CliHarness.Run([args[0], "--model", Model, "--schema", Schema, "--torchsharp", Fixture, "--in", Checkpoint, .. args[1..]]);

    private void AssertNothingWritten(string output)
    {
        Assert.False(File.Exists(output));
        Assert.False(File.Exists(output + ".plan.json"));
        Assert.Empty(Directory.GetFiles(_h.Dir, "*.tmp*"));
        Assert.All(Directory.GetFiles(_h.Dir).Select(Path.GetFileName), n => Assert.Contains(n, new[] { "Mlp.cs", "mlp.features.yaml", "corrupt.safetensors", "mlp.safetensors", "other.safetensors" }));
    }
}
