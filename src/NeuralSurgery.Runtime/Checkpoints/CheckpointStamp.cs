using System;
using System.Collections.Generic;
using System.Globalization;

namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>
/// Which model version wrote a checkpoint (issue 13): the model's name, its snapshot version and its graph
/// fingerprint, kept in the checkpoint's string metadata (safetensors <c>__metadata__</c>; the metadata sidecar for
/// TorchSharp's format), so an upgrade finds where the chain starts without guessing.
/// </summary>
public sealed record CheckpointStamp(string Model, int Version, string Fingerprint)
{
    public const string ModelKey = "neuralsurgery.model";
    public const string VersionKey = "neuralsurgery.version";
    public const string FingerprintKey = "neuralsurgery.fingerprint";

    /// <summary>The metadata entries of this stamp.</summary>
    public IReadOnlyDictionary<string, string> ToMetadata() => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [ModelKey] = Model,
        [VersionKey] = Version.ToString(CultureInfo.InvariantCulture),
        [FingerprintKey] = Fingerprint,
    };

    /// <summary>
    /// The stamp in <paramref name="metadata"/>, or null when the checkpoint has none. A partial or malformed stamp
    /// is an error naming <paramref name="file"/> and the key: a half-written stamp must not pass for no stamp.
    /// </summary>
    public static CheckpointStamp? Read(IReadOnlyDictionary<string, string> metadata, string file)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var hasModel = metadata.TryGetValue(ModelKey, out var model);
        var hasVersion = metadata.TryGetValue(VersionKey, out var version);
        var hasFingerprint = metadata.TryGetValue(FingerprintKey, out var fingerprint);
        if (!hasModel && !hasVersion && !hasFingerprint)
        {
            return null;
        }

        if (!hasModel || !hasVersion || !hasFingerprint || string.IsNullOrEmpty(model) || string.IsNullOrEmpty(fingerprint))
        {
            throw new CheckpointFormatException($"{file}: the version stamp is incomplete; expected {ModelKey}, {VersionKey} and {FingerprintKey} together");
        }

        if (!int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1)
        {
            throw new CheckpointFormatException($"{file}: {VersionKey} is '{version}'; expected a version number from 1");
        }

        return new CheckpointStamp(model!, number, fingerprint!);
    }
}
