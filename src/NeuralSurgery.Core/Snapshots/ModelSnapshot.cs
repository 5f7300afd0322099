using System;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;
using NeuralSurgery.Json;
using NeuralSurgery.Plan;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Snapshots;

/// <summary>
/// One recorded version of a model class (issue 13): the graph of its forward and the feature schema it was bound
/// to, as the class stood when the snapshot was taken. Snapshots live in the user's repository, one file per
/// version (<see cref="SnapshotJson"/>), so a class edited in place still has its past versions to plan from.
/// </summary>
/// <param name="Model">The model class's simple name (what file names and checkpoint stamps carry).</param>
/// <param name="ClassName">The class, namespace-qualified (<c>Game.Policy</c>, nested types joined by <c>+</c>).</param>
/// <param name="Version">The snapshot's number in its chain: 1, 2, … in recording order.</param>
/// <param name="SchemaFile">The schema's file name (as <c>[SurgeryModel]</c> names it).</param>
/// <param name="SchemaText">The schema's YAML text, exactly as it was (reparsed when planning from the snapshot).</param>
/// <param name="Graph">The graph IR of forward.</param>
/// <param name="Fingerprint">See <see cref="FingerprintOf"/>.</param>
/// <param name="Step">
/// The plan from the previous version to this one when the change was made by a tool rather than by editing the
/// class (<c>surgery prune</c>, <c>surgery grow</c>, DYNO): removing units 1 and 4 of a layer and removing its last
/// two units give the same class, so only the recorded plan says which weights a checkpoint keeps. Null when the
/// step is planned from the two graphs, as for any edit.
/// </param>
public sealed record ModelSnapshot(string Model, string ClassName, int Version, string SchemaFile, string SchemaText, ModelGraph Graph, string Fingerprint, SurgeryPlan? Step = null)
{
    /// <summary>A snapshot of a graph and its schema text, fingerprinted.</summary>
    public static ModelSnapshot Create(string model, string className, int version, string schemaFile, string schemaText, ModelGraph graph, SurgeryPlan? step = null)
    {
        if (version < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, "snapshot versions start at 1");
        }

        // The text as the file will hold it (its lines, \n-joined, a final newline), so a snapshot equals itself read back.
        var text = schemaText.Replace("\r\n", "\n");
        if (!text.EndsWith("\n", StringComparison.Ordinal))
        {
            text += "\n";
        }

        var schema = FeatureSchemaReader.ParseOrThrow(text, schemaFile);
        var fingerprint = FingerprintOf(graph, schema);
        if (step is not null && !string.Equals(step.To.Fingerprint, fingerprint, StringComparison.Ordinal))
        {
            throw new ArgumentException($"the step plan leads to {Describe(step.To)}, not to this {model} ({fingerprint.Substring(0, 12)})", nameof(step));
        }

        return new ModelSnapshot(model, className, version, schemaFile, text, graph, fingerprint, step);
    }

    /// <summary><c>Policy 9f2c0a1b3c4d (schema version 3)</c>: a plan end for messages (schema versions are not snapshot versions).</summary>
    internal static string Describe(ModelVersion version) =>
        version.Model + " " + (version.Fingerprint is { Length: >= 12 } f ? f.Substring(0, 12) : "(no fingerprint)")
        + " (schema version " + version.Version.ToString(CultureInfo.InvariantCulture) + ")";

    /// <summary>The schema, parsed from <see cref="SchemaText"/> (errors name <see cref="SchemaFile"/>).</summary>
    public FeatureSchema ReadSchema() => FeatureSchemaReader.ParseOrThrow(SchemaText, SchemaFile);

    /// <summary><c>Policy v3</c>.</summary>
    public string Label => Model + " v" + Version.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The state_dict a version has, as text generated code carries: one line per parameter and buffer, its name, a
    /// tab, and its dimensions joined by commas (<c>?</c> for a symbolic one). Read back by the runtime's
    /// <c>VersionCandidate.FromSignature</c> to recognise unstamped checkpoints.
    /// </summary>
    public static string SignatureOf(ModelGraph graph)
    {
        if (graph is null)
        {
            throw new ArgumentNullException(nameof(graph));
        }

        var text = new StringBuilder();
        foreach (var parameter in graph.Parameters)
        {
            text.Append(parameter.Name).Append('\t');
            for (var i = 0; i < parameter.Shape.Dims.Count; i++)
            {
                var dim = parameter.Shape.Dims[i];
                text.Append(i > 0 ? "," : string.Empty).Append(dim.IsConstant ? dim.Value.ToString(CultureInfo.InvariantCulture) : "?");
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>
    /// Whether <paramref name="text"/> is a fingerprint as <see cref="FingerprintOf"/> writes it (lowercase hex), or a
    /// prefix of one at least <paramref name="minimumLength"/> digits long.
    /// </summary>
    public static bool IsFingerprint(string text, int minimumLength = 64)
    {
        if (text is null || text.Length < minimumLength || text.Length > 64)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A SHA-256 over what decides a checkpoint's meaning: the graph JSON (names, shapes, ops) and, per schema input
    /// and output, the features in order with widths, kinds and categorical values. The schema's version number,
    /// renames, comments and layout are left out: they change no weight, so equal fingerprints mean a checkpoint of
    /// one version is a checkpoint of the other.
    /// </summary>
    public static string FingerprintOf(ModelGraph graph, FeatureSchema? schema)
    {
        if (graph is null)
        {
            throw new ArgumentNullException(nameof(graph));
        }

        var text = new StringBuilder();
        if (schema is not null)
        {
            text.Append("model ").Append(schema.Model).Append('\n');
            foreach (var input in schema.Inputs)
            {
                text.Append("input ").Append(input.Name).Append(' ').Append(input.Kind.ToString()).Append(input.IsSet ? " set" : string.Empty);
                foreach (var axis in input.Axes)
                {
                    text.Append(" axis:").Append(axis);
                }

                text.Append('\n');
                Features(text, input.Features);
                foreach (var value in input.Values)
                {
                    text.Append("  value ").Append(value).Append('\n');
                }
            }

            foreach (var output in schema.Outputs)
            {
                text.Append("output ").Append(output.Name).Append('\n');
                Features(text, output.Features);
            }
        }

        text.Append("graph\n").Append(GraphJson.Write(graph));
        using var sha = SHA256.Create();
        var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(text.ToString()));
        var hex = new StringBuilder(hash.Length * 2);
        foreach (var b in hash)
        {
            hex.Append(b.ToString("x2", CultureInfo.InvariantCulture));
        }

        return hex.ToString();

        static void Features(StringBuilder text, EquatableArray<SchemaFeature> features)
        {
            foreach (var feature in features)
            {
                text.Append("  feature ").Append(feature.Name).Append(' ').Append(feature.Width.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }
    }
}
