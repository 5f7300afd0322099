using System.Globalization;
using NeuralSurgery.Generator.Specs;

namespace NeuralSurgery.Generator.Emit;

/// <summary>
/// Emits <c>NewModel.SurgeryFromOldModel</c> for each <c>[SurgeryFrom]</c> (DESIGN.md section 7): the surgery plan
/// as JSON (exactly what <c>PlanJson.Write</c> gives for the same graphs, so the CLI and the build agree byte for
/// byte), its totals, and, when NeuralSurgery.Runtime is referenced, <c>Apply</c> over checkpoint files and
/// in-memory state dicts through the runtime's plan executor.
/// </summary>
internal static class SurgeryEmitter
{
    private const string Core = "global::NeuralSurgery.";

    public static GeneratedSource Emit(SurgeryEmitSpec spec, bool withRuntime, bool withTorchSharp = false)
    {
        var className = spec.ClassName;
        var writer = new SourceWriter();
        writer.Line(SourceWriter.Header.TrimEnd('\n'));
        writer.Line();
        writer.OpenType(spec.Target);
        writer.Line("/// <summary>");
        writer.Line("/// The surgery map " + Xml(spec.SourceName) + " → " + Xml(spec.Target.Name) + ": for each state_dict entry of " + Xml(spec.Target.Name) + ", the elements it copies");
        writer.Line("/// from " + Xml(spec.SourceName) + " and how the rest is initialised so that the new model computes what the old one did.");
        writer.Line("/// </summary>");
        writer.Open("public static class " + className);
        writer.Line("/// <summary>The surgery plan in NeuralSurgery's plan JSON.</summary>");
        writer.Line("public const string PlanJson = " + SourceWriter.Verbatim(spec.PlanJson) + ";");
        writer.Line();
        writer.Line("/// <summary>The old model class, fully qualified.</summary>");
        writer.Line("public const string SourceModel = " + SourceWriter.Quote(spec.SourceMetadataName) + ";");
        writer.Line();
        writer.Line("/// <summary>Parameter elements copied from the old model.</summary>");
        writer.Line("public const long CopiedElements = " + Long(spec.Copied) + ";");
        writer.Line();
        writer.Line("/// <summary>Parameter elements of the new model.</summary>");
        writer.Line("public const long TargetElements = " + Long(spec.TargetElements) + ";");
        writer.Line();
        writer.Line("/// <summary>Parameter elements of the old model.</summary>");
        writer.Line("public const long SourceElements = " + Long(spec.SourceElements) + ";");
        writer.Line();
        writer.Line("private static readonly global::System.Lazy<" + Core + "Plan.SurgeryPlan> s_plan =");
        // An explicit type rather than target-typed new: the user's project may compile with C# 8.
        writer.Line("    new global::System.Lazy<" + Core + "Plan.SurgeryPlan>(() => " + Core + "Json.PlanJson.Read(PlanJson), global::System.Threading.LazyThreadSafetyMode.ExecutionAndPublication);");
        writer.Line();
        writer.Line("/// <summary>The surgery plan.</summary>");
        writer.Line("public static " + Core + "Plan.SurgeryPlan Plan => s_plan.Value;");
        if (withRuntime)
        {
            writer.Line();
            writer.Line("/// <summary>");
            writer.Line("/// Applies the surgery to a checkpoint of " + Xml(spec.SourceName) + " (TorchSharp format or safetensors) and writes one of");
            writer.Line("/// " + Xml(spec.Target.Name) + " through a temporary file renamed into place; the source is never modified.");
            writer.Line("/// </summary>");
            // A surgery from a snapshot knows the version it writes: its checkpoints carry the stamp (issue 13).
            var options = spec.Stamp is { } stamp
                ? Core + "Runtime.Execution.ApplyOptions.Stamped(options, new " + Core + "Runtime.Checkpoints.CheckpointStamp(" + SourceWriter.Quote(stamp.Model) + ", "
                    + stamp.Version.ToString(CultureInfo.InvariantCulture) + ", " + SourceWriter.Quote(stamp.Fingerprint) + "))"
                : "options";
            writer.Line("public static void Apply(string sourceCheckpoint, string targetCheckpoint, " + Core + "Runtime.Execution.ApplyOptions? options = null) =>");
            writer.Line("    " + Core + "Runtime.Execution.PlanExecutor.Apply(Plan, sourceCheckpoint, targetCheckpoint, " + options + ");");
            writer.Line();
            writer.Line("/// <summary>Applies the surgery to any tensor source (a checkpoint or an in-memory state dict) and writes a checkpoint.</summary>");
            writer.Line("public static void Apply(" + Core + "Runtime.Checkpoints.ITensorSource source, string targetCheckpoint, " + Core + "Runtime.Execution.ApplyOptions? options = null) =>");
            writer.Line("    " + Core + "Runtime.Execution.PlanExecutor.Apply(Plan, source, targetCheckpoint, " + options + ");");
            writer.Line();
            writer.Line("/// <summary>Applies the surgery in memory: the new model's state dict.</summary>");
            writer.Line("public static " + Core + "Runtime.Checkpoints.StateDict Apply(" + Core + "Runtime.Checkpoints.ITensorSource source, int seed = 0) =>");
            writer.Line("    " + Core + "Runtime.Execution.PlanExecutor.ApplyInMemory(Plan, source, seed);");
        }

        if (withRuntime && withTorchSharp && spec.SourceReference is { } source && spec.Target.Reference is { } target)
        {
            // Both mirrors exist (every surgery's models are [SurgeryModel] classes), and a generic model has no
            // reference to name, so Verify is emitted for plain classes only.
            writer.Line();
            writer.Line("/// <summary>");
            writer.Line("/// Paper 001 eq. 1 by the models' own <c>forward</c>: random world states from both schemas through both live");
            writer.Line("/// modules on their device; max |F_old − F_new| per output, cross-checked with the reference executor.");
            writer.Line("/// </summary>");
            writer.Line("public static " + Core + "TorchSharp.ModuleVerificationReport Verify(" + source + " source, " + target + " target, " + Core + "TorchSharp.ModuleVerificationOptions? options = null) =>");
            writer.Line("    " + Core + "TorchSharp.ModuleVerifier.Verify(source, " + source + ".Mirror.Graph, " + source + ".Mirror.Schema, target, " + target + ".Mirror.Graph, " + target + ".Mirror.Schema, options);");
            writer.Line();
            writer.Line("/// <summary>");
            writer.Line("/// Applies the surgery from a live " + Xml(spec.SourceName) + " into a live " + Xml(spec.Target.Name) + ", on the target's device and dtype;");
            writer.Line("/// initialised elements take the same seeded values as <c>Apply</c> on checkpoint files.");
            writer.Line("/// </summary>");
            writer.Line("public static void Apply(" + source + " source, " + target + " target, int seed = 0) =>");
            writer.Line("    " + Core + "TorchSharp.LiveSurgery.Apply(Plan, source, target, seed);");
            writer.Line();
            writer.Line("/// <summary>Applies the surgery to a checkpoint of " + Xml(spec.SourceName) + " and loads the result into <paramref name=\"target\"/>, without an intermediate file.</summary>");
            writer.Line("public static void LoadInto(" + target + " target, string sourceCheckpoint, int seed = 0) =>");
            writer.Line("    " + Core + "TorchSharp.LiveSurgery.LoadInto(Plan, sourceCheckpoint, target, seed);");
            writer.Line();
            writer.Line("/// <summary>");
            writer.Line("/// Carries the optimizer state of " + Xml(spec.SourceName) + " into the new optimizer of " + Xml(spec.Target.Name) + " (moments follow the weights, new");
            writer.Line("/// elements start at zero); call it after <c>Apply</c> or <c>LoadInto</c>. Returns the state tensors carried.");
            writer.Line("/// </summary>");
            writer.Line("public static int CarryOptimizerState(" + source + " source, global::TorchSharp.Modules.OptimizerHelper sourceOptimizer, " + target + " target, global::TorchSharp.Modules.OptimizerHelper targetOptimizer) =>");
            writer.Line("    " + Core + "TorchSharp.OptimizerCarry.Carry(Plan, source, sourceOptimizer, target, targetOptimizer);");
        }

        writer.Close();
        writer.CloseType(spec.Target);
        return new GeneratedSource(spec.Target.FullName + "." + className + ".g.cs", writer.ToString());
    }

    private static string Long(long value) => value.ToString(CultureInfo.InvariantCulture) + "L";

    private static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
