using System.IO;
using System.Linq;
using NeuralSurgery.Json;

namespace NeuralSurgery.Cli.Tests;

/// <summary>
/// `surgery graph` and `surgery plan` on TorchSharp model source, read with the Generator's model reader against
/// the real TorchSharp assembly (`--torchsharp`).
/// </summary>
public sealed class ModelSourceTests : System.IDisposable
{
    private const string Usings = """
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        namespace Game;

        """;

    private const string MlpSource = Usings + """
        public sealed class Mlp : Module<Tensor, Tensor>
        {
            private readonly Linear fc1 = Linear(16, 64);
            private readonly Linear fc2 = Linear(64, 3);

            public Mlp() : base(nameof(Mlp)) => RegisterComponents();

            public override Tensor forward(Tensor x) => fc2.forward(functional.relu(fc1.forward(x)));
        }
        """;

    private const string MlpSchema = """
        model: Mlp
        version: 1
        inputs:
          x:
            features: [{ name: a, width: 16 }]
        outputs:
          y:
            features: [p, q, r]
        """;

    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static string Fixture => typeof(global::TorchSharp.torch).Assembly.Location;

    /// <summary>The policy of version 1 (3 observations, 2 actions) or 2 (adds the feature gold and the action heal).</summary>
    private (string Source, string Schema) Policy(int version)
    {
        var (inputs, actions) = version == 1 ? (3, 2) : (4, 3);
        var source = _h.Write($"Policy.v{version}.cs", Usings + $$"""
            public sealed class Policy : Module<Tensor, Tensor>
            {
                private readonly Linear encoder = Linear({{inputs}}, 8);
                private readonly Linear head = Linear(8, {{actions}});

                public Policy() : base(nameof(Policy)) => RegisterComponents();

                public override Tensor forward(Tensor obs) => head.forward(encoder.forward(obs).tanh()).softmax(1);
            }
            """);
        var schema = _h.Write($"policy.v{version}.features.yaml", $$"""
            model: Policy
            version: {{version}}
            inputs:
              obs:
                features: [health, mana, distance{{(version == 2 ? ", gold" : string.Empty)}}]
            outputs:
              action:
                features: [attack, retreat{{(version == 2 ? ", heal" : string.Empty)}}]
            """);
        return (source, schema);
    }

    [Fact]
    public void Graph_prints_the_ir_and_the_phi_summary()
    {
        var model = _h.Write("Mlp.cs", MlpSource);
        var schema = _h.Write("mlp.features.yaml", MlpSchema);
        var result = CliHarness.Run("graph", model, "--schema", schema, "--torchsharp", Fixture);
        CliHarness.AssertOk(result);
        Assert.StartsWith("model: Mlp\ninputs:\n", result.Out);
        Assert.Matches(@"\| x +\| features \| \[B, 16\] \| x +\|", result.Out);
        Assert.Matches(@"\| fc1 +\| Linear \| fc1\.weight \| \[64, 16\] \| +1,024 \|", result.Out);
        Assert.Matches(@"\| fc2 +\| Linear \| fc2\.bias +\| \[3\] +\| +3 \|", result.Out);
        Assert.Matches(@"\| relu +\| relu +\| fc1 +\| \[B, 64\] \|", result.Out);
        Assert.Matches(@"\| fc2 +\| call fc2 \| relu +\| \[B, 3\] +\|", result.Out);
        Assert.Matches(@"\| y +\| fc2 +\| \[B, 3\] \| y +\|", result.Out);

        // Φ: every element of fc1.weight sees its one input slot; everything downstream sees all 16.
        Assert.Contains("features: 16 slots\n", result.Out);
        Assert.Matches(@"\| fc1\.weight \| +16 \|", result.Out);
        Assert.Matches(@"\| fc2\.bias +\| +16 \|", result.Out);
        Assert.Contains("unmapped features: none\n", result.Out);
        Assert.EndsWith($"interactions: {1024 + (64 * 16) + (192 * 16) + (3 * 16):N0}\n", result.Out);
    }

    [Fact]
    public void Model_files_of_a_project_with_implicit_usings_read_without_their_using_lines()
    {
        // The SDK's ImplicitUsings (System, System.Collections.Generic, System.Linq, ...) are on in new projects: a
        // file that relies on them must not show CS0103/CS0246 beside the reader's own error, nor count them.
        var model = _h.Write("Mlp.cs", Usings + """
            public sealed class Mlp : Module<Tensor, Tensor>
            {
                private static readonly List<string> Names = new() { "fc1", "fc2" };
                private readonly Linear fc1 = Linear(16, 64);
                private readonly Linear fc2 = Linear(64, 3);

                public Mlp() : base(nameof(Mlp))
                {
                    RegisterComponents();
                    Console.WriteLine(string.Join(", ", Names.Select(n => n.ToUpperInvariant())));
                }

                public override Tensor forward(Tensor x)
                {
                    var h = x;
                    while (h.shape[1] > 16)
                    {
                        h = h.narrow(1, 0, 16);
                    }

                    return fc2.forward(functional.relu(fc1.forward(h)));
                }
            }
            """);
        var schema = _h.Write("mlp.features.yaml", MlpSchema);
        var result = CliHarness.Run("graph", model, "--schema", schema, "--torchsharp", Fixture);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("error NS1001: Unsupported statement", result.Err, System.StringComparison.Ordinal);
        Assert.DoesNotContain("error CS", result.Err, System.StringComparison.Ordinal);
        Assert.Contains("1 error reading the model", result.Err, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Graph_json_is_graph_json_that_plan_reads_back()
    {
        var model = _h.Write("Mlp.cs", MlpSource);
        var schema = _h.Write("mlp.features.yaml", MlpSchema);
        var result = CliHarness.Run("graph", model, "--schema", schema, "--torchsharp", Fixture, "--json");
        CliHarness.AssertOk(result);
        var graph = GraphJson.Read(result.Out, "stdout");
        Assert.Equal("Mlp", graph.Name);
        Assert.Equal(new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" }, graph.Parameters.Select(p => p.Name));
        Assert.Equal(result.Out, GraphJson.Write(graph));

        // The same model, once as source and once as its graph JSON, transfers everything.
        var json = _h.Write("mlp.graph.json", result.Out);
        var plan = CliHarness.Run("plan", "--from", model, "--to", json, "--from-schema", schema, "--to-schema", schema, "--torchsharp", Fixture);
        CliHarness.AssertOk(plan);
        Assert.Contains("1,283 of 1,283 source parameters (100.00 %)", plan.Out);
    }

    [Fact]
    public void Plan_reads_both_versions_from_source()
    {
        var (v1, s1) = Policy(1);
        var (v2, s2) = Policy(2);
        var result = CliHarness.Run("plan", "--from", v1, "--to", v2, "--from-schema", s1, "--to-schema", s2, "--torchsharp", Fixture);
        CliHarness.AssertOk(result);
        Assert.StartsWith("plan: Policy v1 -> Policy v2\n", result.Out);

        // The new feature gold is a new input column; the new action heal a new output row.
        Assert.Matches(@"\| encoder\.weight \| encoder\.weight \| +24 / 32 \| +75\.00 % \| axis 1 \(input, 1 new\): zeros +\|", result.Out);
        Assert.Matches(@"\| encoder\.bias +\| encoder\.bias +\| +8 / 8 \| 100\.00 % \| - +\|", result.Out);
        Assert.Matches(@"\| head\.weight +\| head\.weight +\| +16 / 24 \| +66\.67 % \| axis 0 \(output, 1 new\): zeros +\|", result.Out);
        Assert.Matches(@"\| head\.bias +\| head\.bias +\| +2 / 3 \| +66\.67 % \| axis 0 \(output, 1 new\): constant\(0\) \|", result.Out);
        Assert.Contains("transferred: 50 of 50 source parameters (100.00 %); 50 of 67 target parameters (74.63 %)\n", result.Out);
        Assert.Contains("dropped: nothing\n", result.Out);

        var planPath = _h.PathOf("plan.json");
        var json = CliHarness.Run("plan", "--from", v1, "--to", v2, "--from-schema", s1, "--to-schema", s2, "--torchsharp", Fixture, "--out", planPath, "--json");
        CliHarness.AssertOk(json);
        var plan = PlanJson.Read(File.ReadAllText(planPath), planPath);
        Assert.Equal(50, plan.Totals.CopiedElements);
        Assert.Equal(67, plan.Totals.TargetElements);
    }

    [Fact]
    public void A_missing_torchsharp_assembly_is_a_user_error_that_says_how_to_pass_it()
    {
        var model = _h.Write("Mlp.cs", MlpSource);
        var schema = _h.Write("mlp.features.yaml", MlpSchema);
        var missing = _h.PathOf("nowhere/TorchSharp.dll");
        CliHarness.AssertUserError(
            CliHarness.Run("graph", model, "--schema", schema, "--torchsharp", missing),
            $"--torchsharp {missing}: no such file", "pass --torchsharp <path to TorchSharp.dll>");
    }

    [Fact]
    public void Reader_errors_are_printed_as_compiler_diagnostics_then_exit_1()
    {
        var model = _h.Write("Branchy.cs", Usings + """
            public sealed class Branchy : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(16, 3);

                public Branchy() : base(nameof(Branchy)) => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    if (training)
                    {
                        x = x.relu();
                    }

                    return fc.forward(x);
                }
            }
            """);
        var schema = _h.Write("mlp.features.yaml", MlpSchema.Replace("model: Mlp", "model: Branchy"));
        var result = CliHarness.Run("graph", model, "--schema", schema, "--torchsharp", Fixture);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Empty(result.Out);
        Assert.Equal(
            new[]
            {
                $"{model}(15,9): error NS1001: Unsupported statement 'if (training) {{ x = x.relu(); }}' in Branchy.forward: the reader takes a branch only when its condition is known at build time (constants, constructor arguments the schema or defaults bind, whether an optional module was created); the model graph is not built",
                $"error: {model}: model 'Branchy': 1 error reading the model (listed above)",
            },
            result.ErrLines);
    }

    [Fact]
    public void The_model_class_is_the_one_module_or_the_one_named()
    {
        var model = _h.Write("Models.cs", MlpSource + "\n" + """
            public sealed class Other : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(16, 3);

                public Other() : base(nameof(Other)) => RegisterComponents();

                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """);
        var schema = _h.Write("mlp.features.yaml", MlpSchema);
        CliHarness.AssertUserError(
            CliHarness.Run("graph", model, "--schema", schema, "--torchsharp", Fixture),
            model, "several model classes (Game.Mlp, Game.Other)", "--class");
        CliHarness.AssertUserError(
            CliHarness.Run("graph", model, "--schema", schema, "--torchsharp", Fixture, "--class", "Nope"),
            "--class Nope", "no such class", "model classes: Game.Mlp, Game.Other");
        var other = CliHarness.Run("graph", model, "--schema", schema, "--torchsharp", Fixture, "--class", "Other");
        CliHarness.AssertOk(other);
        Assert.StartsWith("model: Other\n", other.Out);
        var plan = CliHarness.Run("plan", "--from", model, "--to", model, "--from-class", "Mlp", "--to-class", "Game.Mlp", "--from-schema", schema, "--to-schema", schema, "--torchsharp", Fixture);
        CliHarness.AssertOk(plan);
        Assert.StartsWith("plan: Mlp", plan.Out);
    }
}

public sealed class TorchSharpLocatorTests : System.IDisposable
{
    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void The_newest_release_in_the_package_folder_is_used()
    {
        string Dll(string package, string version, string framework)
        {
            var dir = Directory.CreateDirectory(Path.Combine(_h.Dir, package, version, "lib", framework)).FullName;
            var path = Path.Combine(dir, "TorchSharp.dll");
            File.WriteAllText(path, string.Empty);
            return path;
        }

        Dll("torchsharp", "0.102.8", "net6.0");
        Dll("torchsharp", "0.105.0-preview1", "net6.0");
        var newest = Dll("torchsharp", "0.105.0", "net8.0");
        Dll("torchsharp", "0.105.0", "netstandard2.0");
        Dll("torchsharp", "0.99.0", "net6.0");
        Directory.CreateDirectory(Path.Combine(_h.Dir, "torchsharp-cpu", "0.106.0"));
        Assert.Equal(newest, Models.TorchSharpLocator.FindNewest(_h.Dir));
        Assert.Null(Models.TorchSharpLocator.FindNewest(Path.Combine(_h.Dir, "torchsharp-cpu")));
        Assert.Null(Models.TorchSharpLocator.FindNewest(Path.Combine(_h.Dir, "missing")));
    }
}
