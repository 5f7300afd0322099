using System.Globalization;
using NeuralSurgery.Generator.Specs;

namespace NeuralSurgery.Generator.Emit;

/// <summary>
/// Emits <c>Model.Migrations</c> for a model with snapshots (issue 13): the fingerprint of every version, the plan
/// of every step v1 → v2 → … → current, their composition from any version, and, with NeuralSurgery.Runtime, the
/// upgrade of a checkpoint of any version to the current class.
/// </summary>
internal static class MigrationsEmitter
{
    private const string Core = "global::NeuralSurgery.";

    public static GeneratedSource Emit(MigrationsEmitSpec spec, bool withRuntime)
    {
        var w = new SourceWriter();
        w.Line(SourceWriter.Header.TrimEnd('\n'));
        w.Line();
        w.OpenType(spec.Target);
        w.Line("/// <summary>");
        w.Line("/// The recorded versions of " + spec.Model + " (its snapshot files) and the surgery steps between them, up to the class as it is now.");
        w.Line("/// </summary>");
        w.Open("public static class Migrations");
        w.Line("/// <summary>The model's name in snapshots and checkpoint stamps.</summary>");
        w.Line("public const string Model = " + SourceWriter.Quote(spec.Model) + ";");
        w.Line();
        w.Line("/// <summary>The version of the latest snapshot.</summary>");
        w.Line("public const int LatestRecorded = " + Int(spec.LatestRecorded) + ";");
        w.Line();
        w.Line("/// <summary>The version of the class as it is: <see cref=\"LatestRecorded\"/>, or one more while a change is not recorded yet.</summary>");
        w.Line("public const int CurrentVersion = " + Int(spec.CurrentVersion) + ";");
        w.Line();
        StringArray(w, "s_fingerprints", spec.Fingerprints, SourceWriter.Quote);
        StringArray(w, "s_signatures", spec.Signatures, SourceWriter.Quote);
        StringArray(w, "s_steps", spec.StepPlans, SourceWriter.Verbatim);
        w.Line("/// <summary>The graph fingerprint of version <paramref name=\"version\"/> (1 … <see cref=\"CurrentVersion\"/>).</summary>");
        w.Line("public static string Fingerprint(int version) => s_fingerprints[CheckVersion(version, CurrentVersion) - 1];");
        w.Line();
        w.Line("/// <summary>The version whose graph fingerprint is <paramref name=\"fingerprint\"/> (the latest of equal ones), or 0.</summary>");
        w.Open("public static int VersionOf(string fingerprint)");
        w.Open("for (var i = s_fingerprints.Length - 1; i >= 0; i--)");
        w.Open("if (string.Equals(s_fingerprints[i], fingerprint, global::System.StringComparison.Ordinal))");
        w.Line("return i + 1;");
        w.Close();
        w.Close();
        w.Line();
        w.Line("return 0;");
        w.Close();
        w.Line();
        w.Line("/// <summary>The surgery plan from version <paramref name=\"fromVersion\"/> to the next.</summary>");
        w.Line("public static " + Core + "Plan.SurgeryPlan Step(int fromVersion) => " + Core + "Json.PlanJson.Read(s_steps[CheckVersion(fromVersion, CurrentVersion - 1) - 1]);");
        w.Line();
        w.Line("/// <summary>The steps from version <paramref name=\"fromVersion\"/> to <see cref=\"CurrentVersion\"/>, in order.</summary>");
        w.Open("public static global::System.Collections.Generic.IReadOnlyList<" + Core + "Plan.SurgeryPlan> Steps(int fromVersion)");
        w.Line("var steps = new global::System.Collections.Generic.List<" + Core + "Plan.SurgeryPlan>();");
        w.Open("for (var v = CheckVersion(fromVersion, CurrentVersion); v < CurrentVersion; v++)");
        w.Line("steps.Add(Step(v));");
        w.Close();
        w.Line();
        w.Line("return steps;");
        w.Close();
        w.Line();
        w.Line("/// <summary>");
        w.Line("/// The steps from <paramref name=\"fromVersion\"/> composed into one plan to the current class; its <c>Inexact</c> list names");
        w.Line("/// the tensors where it differs from applying the steps one by one.");
        w.Line("/// </summary>");
        w.Line("public static " + Core + "Plan.PlanComposition Compose(int fromVersion) => " + Core + "Plan.PlanComposer.Compose(Steps(fromVersion));");
        if (withRuntime)
        {
            w.Line();
            w.Line("/// <summary>");
            w.Line("/// Upgrades a checkpoint of version <paramref name=\"fromVersion\"/> to the current class through the chain, without intermediate");
            w.Line("/// files (exactly as applying the steps one by one); the result is written through a temporary file and stamped.");
            w.Line("/// </summary>");
            w.Open("public static void Upgrade(string checkpoint, int fromVersion, string output, " + Core + "Runtime.Execution.ApplyOptions? options = null)");
            w.Line("var stamp = new " + Core + "Runtime.Checkpoints.CheckpointStamp(Model, CurrentVersion, Fingerprint(CurrentVersion));");
            w.Line(Core + "Runtime.Execution.ChainExecutor.Apply(Steps(fromVersion), checkpoint, output, options, stamp);");
            w.Close();
            w.Line();
            w.Line("/// <summary>");
            w.Line("/// Upgrades a checkpoint of whichever recorded version wrote it: its stamp says which, else its state_dict names and");
            w.Line("/// shapes; a checkpoint that fits several versions or none is refused with the candidates named. Returns the version found.");
            w.Line("/// </summary>");
            w.Open("public static int Upgrade(string checkpoint, string output, " + Core + "Runtime.Execution.ApplyOptions? options = null)");
            w.Line("int version;");
            w.Open("using (var reader = " + Core + "Runtime.Checkpoints.CheckpointReader.Open(checkpoint))");
            w.Line("version = " + Core + "Runtime.Checkpoints.VersionDetector.Detect(reader, checkpoint, Candidates()).Version.Version;");
            w.Close();
            w.Line();
            w.Line("Upgrade(checkpoint, version, output, options);");
            w.Line("return version;");
            w.Close();
            w.Line();
            w.Line("/// <summary>Every version as version detection sees it: number, fingerprint, state_dict names and shapes.</summary>");
            w.Open("public static global::System.Collections.Generic.IReadOnlyList<" + Core + "Runtime.Checkpoints.VersionCandidate> Candidates()");
            w.Line("var candidates = new global::System.Collections.Generic.List<" + Core + "Runtime.Checkpoints.VersionCandidate>();");
            w.Open("for (var v = 1; v <= CurrentVersion; v++)");
            w.Line("candidates.Add(" + Core + "Runtime.Checkpoints.VersionCandidate.FromSignature(Model, v, s_fingerprints[v - 1], s_signatures[v - 1]));");
            w.Close();
            w.Line();
            w.Line("return candidates;");
            w.Close();
        }

        w.Line();
        w.Open("private static int CheckVersion(int version, int highest)");
        w.Open("if (version < 1 || version > highest)");
        w.Line("throw new global::System.ArgumentOutOfRangeException(nameof(version), version, " + SourceWriter.Quote(spec.Model + ": expected a version from 1 to ") + " + highest.ToString(global::System.Globalization.CultureInfo.InvariantCulture));");
        w.Close();
        w.Line();
        w.Line("return version;");
        w.Close();
        w.Close();
        w.CloseType(spec.Target);
        return new GeneratedSource(spec.Target.FullName + ".Migrations.g.cs", w.ToString());
    }

    /// <summary>A private static string array, one literal per line, then a blank line.</summary>
    private static void StringArray(SourceWriter w, string name, Collections.EquatableArray<string> items, System.Func<string, string> literal)
    {
        w.Line("private static readonly string[] " + name + " = new string[]");
        w.OpenBlock();
        foreach (var item in items)
        {
            w.Line(literal(item) + ",");
        }

        w.CloseWith(";");
        w.Line();
    }

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}
