using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using NeuralSurgery.Generator;

namespace NeuralSurgery.Cli.Tests;

/// <summary>
/// DESIGN.md section 6: the generated code and the CLI produce byte-identical plans for the same inputs. The same
/// two-version policy (one C# file, two schema files on disk) goes once through `surgery plan` and once through the
/// source generator; the file the CLI writes equals the <c>PlanJson</c> constant the generator emits.
/// </summary>
public sealed class GeneratedPlanTests : IDisposable
{
    private const string Models = """
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        namespace Game.Models;

        [NeuralSurgery.SurgeryModel("policy.v1.features.yaml")]
        public sealed partial class PolicyV1 : Module<Tensor, Tensor, Tensor>
        {
            private readonly Linear encoder = Linear(4, 8);
            private readonly Embedding hero_embedding = Embedding(3, 2);
            private readonly Linear head = Linear(10, 3);

            public PolicyV1() : base(nameof(PolicyV1)) => RegisterComponents();

            public override Tensor forward(Tensor hero, Tensor hero_id)
            {
                var x = torch.cat([functional.relu(encoder.forward(hero)), hero_embedding.call(hero_id)], -1);
                return head.forward(x);
            }
        }

        [NeuralSurgery.SurgeryModel("policy.v2.features.yaml")]
        [NeuralSurgery.SurgeryFrom(typeof(PolicyV1))]
        public sealed partial class PolicyV2 : Module<Tensor, Tensor, Tensor>
        {
            private readonly Linear encoder = Linear(5, 8);
            private readonly Embedding hero_embedding = Embedding(4, 2);
            private readonly Linear head = Linear(10, 4);

            public PolicyV2() : base(nameof(PolicyV2)) => RegisterComponents();

            public override Tensor forward(Tensor hero, Tensor hero_id)
            {
                var x = torch.cat([functional.relu(encoder.forward(hero)), hero_embedding.call(hero_id)], -1);
                return head.forward(x);
            }
        }
        """;

    // v2 adds a hero feature in the middle of the list (so columns move), a categorical value and an action.
    private const string V1Schema = """
        model: Policy
        version: 1
        inputs:
          hero:
            features:
              - max_health
              - attack_damage
              - { name: position, width: 2 }
          hero_id:
            categorical: [axe, bane, lich]
        outputs:
          logits:
            features: [noop, move, attack]
        """;

    private const string V2Schema = """
        model: Policy
        version: 2
        inputs:
          hero:
            features:
              - max_health
              - mana
              - attack_damage
              - { name: position, width: 2 }
          hero_id:
            categorical: [axe, bane, lich, sven]
        outputs:
          logits:
            features: [noop, move, attack, cast]
        """;

    private readonly CliHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Surgery_plan_writes_the_plan_json_the_generator_emits_byte_for_byte()
    {
        var source = _h.Write("Models.cs", Models);
        var v1 = _h.Write("policy.v1.features.yaml", V1Schema);
        var v2 = _h.Write("policy.v2.features.yaml", V2Schema);
        var planPath = _h.PathOf("plan.json");

        var result = CliHarness.Run(
            "plan", "--from", source, "--from-class", "PolicyV1", "--to", source, "--to-class", "PolicyV2",
            "--from-schema", v1, "--to-schema", v2, "--torchsharp", typeof(global::TorchSharp.torch).Assembly.Location, "--out", planPath);
        Assert.True(result.ExitCode == 0, result.ToString());
        var cliPlan = File.ReadAllBytes(planPath);

        var generated = GeneratedPlanJson(source, v1, v2);
        Assert.Equal(Encoding.UTF8.GetString(cliPlan), generated);
        Assert.Equal(cliPlan, Encoding.UTF8.GetBytes(generated));

        // Not two empty plans that agree: the moved column is in it (mana is new, attack_damage moved from 1 to 2).
        Assert.Contains("\"encoder.weight\"", generated, StringComparison.Ordinal);
        Assert.Contains("\"hero_embedding.weight\"", generated, StringComparison.Ordinal);
    }

    [Fact]
    public void Surgery_plan_on_files_that_build_with_the_package_reads_the_schemas_their_attributes_name()
    {
        // As a user writes them: 'using NeuralSurgery;' and [SurgeryModel], no schema options on the command line.
        var source = _h.Write("Models.cs", "using NeuralSurgery;\n" + Models.Replace("[NeuralSurgery.SurgeryModel(", "[SurgeryModel("));
        var v1 = _h.Write("policy.v1.features.yaml", V1Schema);
        var v2 = _h.Write("policy.v2.features.yaml", V2Schema);
        var planPath = _h.PathOf("plan.json");

        var result = CliHarness.Run(
            "plan", "--from", source, "--from-class", "PolicyV1", "--to", source, "--to-class", "PolicyV2",
            "--torchsharp", typeof(global::TorchSharp.torch).Assembly.Location, "--out", planPath);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("using schema " + v1 + " ([SurgeryModel] of PolicyV1)", result.Err, StringComparison.Ordinal);
        Assert.Equal(GeneratedPlanJson(source, v1, v2), File.ReadAllText(planPath));
    }

    [Fact]
    public void Surgery_plan_from_one_file_to_another_needs_no_schema_options()
    {
        // Issue 13: ScoutV1.cs and ScoutV2.cs as they build with the package, one class per file, each naming its
        // schema; the plan equals the one the generator emits for the same pair.
        var both = "using NeuralSurgery;\n" + Models.Replace("[NeuralSurgery.SurgeryModel(", "[SurgeryModel(").Replace("[NeuralSurgery.SurgeryFrom(", "[SurgeryFrom(");
        var split = both.IndexOf("[SurgeryModel(\"policy.v2", StringComparison.Ordinal);
        var header = both[..both.IndexOf("[SurgeryModel(", StringComparison.Ordinal)];
        var first = _h.Write("ScoutV1.cs", both[..split]);
        var second = _h.Write("ScoutV2.cs", header + both[split..].Replace("[SurgeryFrom(typeof(PolicyV1))]\n", string.Empty));
        var v1 = _h.Write("policy.v1.features.yaml", V1Schema);
        var v2 = _h.Write("policy.v2.features.yaml", V2Schema);
        var planPath = _h.PathOf("plan.json");

        var result = CliHarness.Run("plan", "--from", first, "--to", second, "--torchsharp", typeof(global::TorchSharp.torch).Assembly.Location, "--out", planPath);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("error", result.Err, StringComparison.Ordinal);
        Assert.StartsWith("plan: Policy v1 -> Policy v2\n", result.Out, StringComparison.Ordinal);
        Assert.Equal(GeneratedPlanJson(_h.Write("Models.cs", both), v1, v2), File.ReadAllText(planPath));
    }

    [Fact]
    public void A_schema_named_by_the_attribute_that_is_nowhere_to_be_found_is_refused_with_the_file_named()
    {
        var source = _h.Write("Models.cs", Models.Replace("policy.v1.features.yaml", "missing.v1.features.yaml"));
        _h.Write("policy.v2.features.yaml", V2Schema);

        var result = CliHarness.Run(
            "plan", "--from", source, "--from-class", "PolicyV1", "--to", source, "--to-class", "PolicyV2",
            "--torchsharp", typeof(global::TorchSharp.torch).Assembly.Location, "--out", _h.PathOf("plan.json"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("[SurgeryModel(\"missing.v1.features.yaml\")] of PolicyV1 names a schema found neither next to the file nor in a folder above it", result.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(_h.PathOf("plan.json")));
    }

    /// <summary>Runs the source generator over the same files and returns the <c>PlanJson</c> constant of the surgery it emits.</summary>
    private static string GeneratedPlanJson(string sourcePath, params string[] schemaPaths)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var references = tpa
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Append(typeof(global::TorchSharp.torch).Assembly.Location)

            // The generator emits the mirror and surgery maps only where the project references Core and Runtime.
            .Append(typeof(Graph.ModelGraph).Assembly.Location)
            .Append(typeof(Runtime.Checkpoints.StateDict).Assembly.Location)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create(
            "Models",
            [CSharpSyntaxTree.ParseText(File.ReadAllText(sourcePath), parse, sourcePath)],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

        var driver = CSharpGeneratorDriver.Create(
            [new SurgeryGenerator().AsSourceGenerator()],
            schemaPaths.Select(p => (AdditionalText)new FileText(p)),
            parse);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        Assert.DoesNotContain(diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);

        var surgery = output.GetTypeByMetadataName("Game.Models.PolicyV2+SurgeryFromPolicyV1");
        Assert.NotNull(surgery);
        var planJson = surgery!.GetMembers("PlanJson").OfType<IFieldSymbol>().Single();
        Assert.True(planJson.HasConstantValue);
        return Assert.IsType<string>(planJson.ConstantValue);
    }

    /// <summary>A schema file as the compiler hands it to the generator: path and text, read from disk.</summary>
    private sealed class FileText(string path) : AdditionalText
    {
        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(File.ReadAllText(Path), Encoding.UTF8);
    }
}
