using System;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NeuralSurgery.Cli;
using NeuralSurgery.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp.Tests;

/// <summary>
/// Issue 13 by TorchSharp's own forward: one class, Scout, edited in place through three versions and recorded with
/// `surgery snapshot add`; a checkpoint saved by the v1 module with Module.save is upgraded straight to v3 by
/// `surgery upgrade`, loaded into the v3 module by TorchSharp's strict Module.load, and both modules agree.
/// </summary>
public sealed class ChainForwardTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ns-chain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>v2 adds the feature armor in the middle and widens the trunk; v3 adds the action scan.</summary>
    private static (string Source, string Schema) Scout(int v)
    {
        var (inputs, trunk, actions) = v switch { 1 => (2, 6, 2), 2 => (3, 10, 2), _ => (3, 10, 3) };
        var source = $$"""
            using NeuralSurgery;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            namespace Field;

            [SurgeryModel("scout.features.yaml")]
            public sealed partial class Scout : Module<Tensor, Tensor>
            {
                private readonly Linear trunk = Linear({{inputs}}, {{trunk}});
                private readonly Linear head = Linear({{trunk}}, {{actions}});

                public Scout() : base(nameof(Scout)) => RegisterComponents();

                public override Tensor forward(Tensor sensors) => head.forward(functional.tanh(trunk.forward(sensors)));
            }
            """;
        var schema = $$"""
            model: Scout
            version: {{v}}
            inputs:
              sensors:
                features: [{{(v == 1 ? "speed, range" : "speed, armor, range")}}]
            outputs:
              orders:
                features: [{{(actions == 2 ? "hold, advance" : "hold, advance, scan")}}]
            """;
        return (source, schema);
    }

    [Fact]
    public void A_v1_module_checkpoint_upgraded_straight_to_v3_computes_the_same_in_the_v3_module()
    {
        var model = Path.Combine(_dir, "Scout.cs");
        var modules = new nn.Module[4];
        for (var v = 1; v <= 3; v++)
        {
            var (source, schema) = Scout(v);
            File.WriteAllText(model, source);
            File.WriteAllText(Path.Combine(_dir, "scout.features.yaml"), schema);
            var (code, output) = Run("snapshot", "add", model, "--torchsharp", typeof(torch).Assembly.Location);
            Assert.True(code == 0, output);
            modules[v] = Instantiate(source, v);
        }

        torch.manual_seed(1306);
        Weights.Trained(modules[1]);
        var v1Path = Path.Combine(_dir, "scout.v1.dat");
        var v3Path = Path.Combine(_dir, "scout.v3.dat");
        modules[1].save(v1Path);
        var (upgrade, printed) = Run("upgrade", v1Path, "--snapshots", Path.Combine(_dir, "Snapshots"), "--out", v3Path);
        Assert.True(upgrade == 0, printed);
        Assert.Contains("Scout v1 (by its names and shapes)", printed, StringComparison.Ordinal);
        modules[3].load(v3Path); // strict: names, dtypes and shapes of the v3 class

        var chain = SnapshotFolder.Chain(Path.Combine(_dir, "Snapshots"), "Scout");
        var report = ModuleVerifier.Verify(
            modules[1], chain.Versions[0].Graph, chain.Versions[0].ReadSchema(),
            modules[3], chain.Versions[2].Graph, chain.Versions[2].ReadSchema(),
            new ModuleVerificationOptions { Samples = 500, Seed = 5 });
        Assert.True(report.Passed, report.Diagnosis);
        Assert.True(report.MaxAbsDifference <= 1e-5, report.Diagnosis);
    }

    /// <summary>The class of one version, compiled on its own (the attribute is conditional: it is left out) and created.</summary>
    private static nn.Module Instantiate(string source, int version)
    {
        var code = source.Replace("using NeuralSurgery;\n", string.Empty, StringComparison.Ordinal)
            .Replace("[SurgeryModel(\"scout.features.yaml\")]\n", string.Empty, StringComparison.Ordinal);
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll");
        var compilation = CSharpCompilation.Create(
            "Scout" + version,
            [CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest))],
            tpa.Append(typeof(torch).Assembly.Location).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        var type = System.Reflection.Assembly.Load(image.ToArray()).GetType("Field.Scout", throwOnError: true)!;
        return (nn.Module)Activator.CreateInstance(type)!;
    }

    private static (int Code, string Output) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = Program.Run(args, stdout, stderr);
        return (code, stdout + stderr.ToString());
    }
}
