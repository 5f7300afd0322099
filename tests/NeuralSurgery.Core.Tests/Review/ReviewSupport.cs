using System.Linq;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Tests.Review;

internal static class ReviewSupport
{
    public static readonly Dim B = Dim.Batch;
    public static readonly Dim N = Dim.Symbol("N");
    public static readonly Dim T = Dim.Symbol("T");

    public static FeatureSchema Sch(string yaml, int version = 1) => FeatureSchemaReader.ParseOrThrow(yaml, $"review.v{version}.features.yaml");

    /// <summary>"model: Policy / version / inputs: {body} / outputs: logits [actions] / renames".</summary>
    public static string Yaml(int version, string inputs, string actions = "[noop, move, attack]", string? renames = null, string outputs = "logits")
    {
        var y = $"model: Policy\nversion: {version}\ninputs:\n{inputs}outputs:\n  {outputs}:\n    features: {actions}\n";
        if (renames is not null)
        {
            y += "renames:\n" + renames;
        }

        return y;
    }

    public static long Width(FeatureSchema s, string input) => s.FindInput(input)!.Width;

    public static long[] Map(SurgeryPlan plan, string tensor, int axis)
    {
        var a = plan.FindTensor(tensor)!.Axes[axis];
        return Enumerable.Range(0, (int)a.Length).Select(i => a.SourceIndex(i)).ToArray();
    }

    public static string Describe(SurgeryPlan plan) =>
        string.Join("\n", plan.Tensors.Select(t => $"{t.Name} <- {t.Source} copied {t.CopiedElements}/{t.TotalElements} " +
            string.Join(" ; ", t.Axes.Select(a => string.Join(",", Enumerable.Range(0, (int)a.Length).Select(i => a.SourceIndex(i)))))))
        + "\ndropped: " + string.Join("; ", plan.Dropped.Select(d => $"{d.Kind} {d.Name} {string.Join(",", d.Parameters.Select(p => p.Parameter + ":" + p.Elements))}"))
        + "\nnotes: " + string.Join("; ", plan.Notes);
}
