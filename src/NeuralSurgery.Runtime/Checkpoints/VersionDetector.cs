using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NeuralSurgery.Collections;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>A state_dict entry as a version of a model has it: name and shape.</summary>
public sealed record TensorSignature(string Name, EquatableArray<long> Shape)
{
    public override string ToString() => Name + " [" + string.Join(", ", Shape) + "]";
}

/// <summary>One version a checkpoint may be of: its number, graph fingerprint and state_dict entries.</summary>
public sealed record VersionCandidate(string Model, int Version, string Fingerprint, EquatableArray<TensorSignature> Tensors)
{
    public string Label => Model + " v" + Version.ToString(CultureInfo.InvariantCulture);

    /// <summary>The candidate of a graph: every parameter and buffer with its (constant) shape.</summary>
    public static VersionCandidate FromGraph(string model, int version, string fingerprint, ModelGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var tensors = graph.Parameters
            .Select(p => new TensorSignature(p.Name, p.Shape.Dims.Select(d => d.IsConstant ? d.Value : -1).ToEquatableArray()))
            .ToEquatableArray();
        return new VersionCandidate(model, version, fingerprint, tensors);
    }

    /// <summary>The candidate of a state_dict signature (<see cref="NeuralSurgery.Snapshots.ModelSnapshot.SignatureOf"/>), as generated code carries it.</summary>
    public static VersionCandidate FromSignature(string model, int version, string fingerprint, string signature)
    {
        ArgumentNullException.ThrowIfNull(signature);
        var tensors = new List<TensorSignature>();
        foreach (var line in signature.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var tab = line.LastIndexOf('\t');
            if (tab <= 0)
            {
                throw new FormatException($"{model} v{version}: signature line '{line}'; expected a name, a tab and dimensions");
            }

            var dims = line[(tab + 1)..].Length == 0 ? [] : line[(tab + 1)..].Split(',');
            tensors.Add(new TensorSignature(line[..tab], dims.Select(d => d == "?" ? -1 : long.Parse(d, NumberStyles.None, CultureInfo.InvariantCulture)).ToEquatableArray()));
        }

        return new VersionCandidate(model, version, fingerprint, tensors.ToEquatableArray());
    }
}

/// <summary>How a checkpoint's version was found.</summary>
/// <param name="Version">The version.</param>
/// <param name="Stamped">True when read from the checkpoint's stamp; false when found by names and shapes.</param>
public sealed record DetectedVersion(VersionCandidate Version, bool Stamped);

/// <summary>A checkpoint whose version cannot be told: of another model, of no known version, or of several alike.</summary>
public sealed class VersionDetectionException : System.IO.IOException
{
    public VersionDetectionException(string message)
        : base(message)
    {
    }

    public VersionDetectionException()
    {
    }

    public VersionDetectionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Finds which recorded version of a model a checkpoint is of (issue 13). A stamp (<see cref="CheckpointStamp"/>)
/// decides when there is one, and must agree with the candidates. Without one, the version is the candidate whose
/// state_dict names and shapes the checkpoint has exactly; several such versions (a reorder keeps every shape) are
/// an error listing them, never a guess, and none is an error saying what did not match the closest version.
/// </summary>
public static class VersionDetector
{
    public static DetectedVersion Detect(ITensorSource checkpoint, string file, IReadOnlyList<VersionCandidate> candidates)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Count == 0)
        {
            throw new ArgumentException("no versions to detect among", nameof(candidates));
        }

        var model = candidates[0].Model;
        if (CheckpointStamp.Read(checkpoint.Metadata, file) is { } stamp)
        {
            if (!string.Equals(stamp.Model, model, StringComparison.Ordinal))
            {
                throw new VersionDetectionException($"{file}: stamped as a checkpoint of model '{stamp.Model}' (v{stamp.Version}); expected one of '{model}'");
            }

            // The fingerprint is what the weights mean; the number only names it (equal graphs recorded twice share it).
            var byFingerprint = candidates.LastOrDefault(c => string.Equals(c.Fingerprint, stamp.Fingerprint, StringComparison.Ordinal));
            if (byFingerprint is null)
            {
                throw new VersionDetectionException(
                    $"{file}: stamped {model} v{stamp.Version} with graph fingerprint {Short(stamp.Fingerprint)}, which no recorded version has "
                    + $"({string.Join(", ", candidates.Select(c => c.Label + " " + Short(c.Fingerprint)))}); record the version it was written by, or check the snapshot folder");
            }

            return new DetectedVersion(byFingerprint, true);
        }

        var matching = candidates.Where(c => Mismatches(checkpoint, c).Count == 0).ToList();
        if (matching.Count == 1 || (matching.Count > 1 && matching.Select(c => c.Fingerprint).Distinct().Count() == 1))
        {
            // Equal fingerprints are one graph recorded twice: the latest such version is the same weights.
            return new DetectedVersion(matching[^1], false);
        }

        if (matching.Count > 1)
        {
            throw new VersionDetectionException(
                $"{file}: no version stamp, and its names and shapes fit several versions: {string.Join(", ", matching.Select(c => c.Label))} "
                + "(a reorder or rename keeps every shape); say which with the version option");
        }

        var closest = candidates.Select(c => (Candidate: c, Problems: Mismatches(checkpoint, c))).OrderBy(p => p.Problems.Count).ThenByDescending(p => p.Candidate.Version).First();
        var shown = closest.Problems.Take(5).ToList();
        throw new VersionDetectionException(
            $"{file}: no version stamp, and its names and shapes fit no recorded version of {model} "
            + $"(v{candidates.Min(c => c.Version)} to v{candidates.Max(c => c.Version)}); closest is {closest.Candidate.Label}, which differs in "
            + string.Join("; ", shown) + (closest.Problems.Count > shown.Count ? $"; and {closest.Problems.Count - shown.Count} more" : string.Empty));
    }

    /// <summary>What keeps the checkpoint from being of <paramref name="candidate"/>: missing, unexpected and reshaped tensors.</summary>
    public static IReadOnlyList<string> Mismatches(ITensorSource checkpoint, VersionCandidate candidate)
    {
        var problems = new List<string>();
        var expected = candidate.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var tensor in checkpoint.Tensors)
        {
            if (!expected.TryGetValue(tensor.Name, out var want))
            {
                problems.Add($"'{tensor.Name}' is not in {candidate.Label}");
            }
            else if (!Fits(want.Shape, tensor.Shape))
            {
                problems.Add($"'{tensor.Name}' is [{string.Join(", ", tensor.Shape)}], {candidate.Label} has [{string.Join(", ", want.Shape.Select(d => d < 0 ? "?" : d.ToString(CultureInfo.InvariantCulture)))}]");
            }
        }

        foreach (var want in candidate.Tensors)
        {
            if (checkpoint.Find(want.Name) is null)
            {
                problems.Add($"'{want.Name}' of {candidate.Label} is missing");
            }
        }

        return problems;
    }

    /// <summary>Equal shapes; a symbolic dimension (-1) fits any size.</summary>
    private static bool Fits(EquatableArray<long> expected, EquatableArray<long> actual)
    {
        if (expected.Count != actual.Count)
        {
            return false;
        }

        for (var i = 0; i < expected.Count; i++)
        {
            if (expected[i] >= 0 && expected[i] != actual[i])
            {
                return false;
            }
        }

        return true;
    }

    private static string Short(string fingerprint) => fingerprint.Length > 12 ? fingerprint[..12] : fingerprint;
}
