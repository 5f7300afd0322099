using System.Collections.Generic;
using System.Linq;
using System.Text;
using NeuralSurgery.Diff;
using NeuralSurgery.Graph;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Tests.Diff;

/// <summary>Small schema-bound models for differ tests: YAML in, traced <see cref="ModelSide"/> out.</summary>
internal static class DiffModels
{
    public static string Yaml(int version, string obs, string? heroes = null, string actions = "[noop, move, attack]", string? renames = null, string? extra = null)
    {
        var sb = new StringBuilder();
        sb.Append("model: Policy\nversion: ").Append(version).Append('\n');
        sb.Append("inputs:\n  obs:\n    features: ").Append(obs).Append('\n');
        if (heroes is not null)
        {
            sb.Append("  hero_id:\n    categorical: ").Append(heroes).Append('\n');
        }

        if (extra is not null)
        {
            sb.Append("  extra:\n    features: ").Append(extra).Append('\n');
        }

        sb.Append("outputs:\n  logits:\n    features: ").Append(actions).Append('\n');
        if (renames is not null)
        {
            sb.Append("renames:\n").Append(renames);
        }

        return sb.ToString();
    }

    public static FeatureSchema ParseSchema(string yaml, int version) => FeatureSchemaReader.ParseOrThrow(yaml, $"policy.v{version}.features.yaml");

    /// <summary>obs → fc1 (Linear, ReLU) [→ concat hero embedding] [→ concat extra encoder] → head → logits.</summary>
    public static ModelSide Mlp(FeatureSchema schema, long hidden = 4, int embedding = 3)
    {
        var b = new GraphBuilder("Policy");
        var obs = b.FeatureInput("obs", Dim.Batch, schema.FindInput("obs")!.Width);
        var parts = new List<GraphValue> { b.Relu(b.Linear("fc1", obs, hidden)) };
        if (schema.FindInput("hero_id") is { } heroes)
        {
            parts.Add(b.Embedding("hero_embedding", b.CategoricalInput("hero_id", Dim.Batch), heroes.Width, embedding));
        }

        if (schema.FindInput("extra") is { } extra)
        {
            parts.Add(b.Relu(b.Linear("extra_encoder", b.FeatureInput("extra", Dim.Batch, extra.Width), 2)));
        }

        var h = parts.Count == 1 ? parts[0] : b.Concat(1, parts.ToArray());
        b.Output("logits", b.Linear("head", h, schema.FindOutput("logits")!.Width));
        return ModelSide.Trace(b.Build(), schema);
    }

    /// <summary>obs → fc (Linear) → unsqueeze → LSTM (one step) → squeeze → head.</summary>
    public static ModelSide Recurrent(FeatureSchema schema, long core, long hidden)
    {
        var b = new GraphBuilder("Policy");
        var obs = b.FeatureInput("obs", Dim.Batch, schema.FindInput("obs")!.Width);
        var x = b.Unsqueeze(b.Relu(b.Linear("fc", obs, core)), 0);
        var (output, hn, cn) = b.Lstm("lstm", x, hidden);
        b.Output("logits", b.Linear("head", b.Squeeze(output, 0), schema.FindOutput("logits")!.Width));
        b.StateOutput("h", hn).StateOutput("c", cn);
        return ModelSide.Trace(b.Build(), schema);
    }

    public static Plan.SurgeryPlan MakePlan(ModelSide from, ModelSide to, Plan.PlanOptions? options = null) => SurgeryDiffer.Diff(from, to, options);

    /// <summary>Per target index, the source index (-1 for none).</summary>
    public static long[] Map(Plan.SurgeryPlan plan, string tensor, int axis)
    {
        var a = plan.FindTensor(tensor)!.Axes[axis];
        return Enumerable.Range(0, (int)a.Length).Select(i => a.SourceIndex(i)).ToArray();
    }
}
