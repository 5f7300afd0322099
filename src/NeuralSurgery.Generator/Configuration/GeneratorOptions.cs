using System.Collections.Immutable;

namespace NeuralSurgery.Generator.Configuration;

/// <summary>
/// The MSBuild properties the generator reads (through <c>CompilerVisibleProperty</c> in build/NeuralSurgery.props).
/// Keep this list and the props/targets in step: a test parses both and checks they agree.
/// </summary>
public static class GeneratorOptions
{
    /// <summary>
    /// <c>true</c> (the default) adds every <c>**/*.features.yaml</c> and <c>**/*.snapshot.json</c> of the project as AdditionalFiles. The generator
    /// reads it only to say, when a schema is not found, whether the file had to be added by hand.
    /// </summary>
    public const string IncludeSchemas = "NeuralSurgeryIncludeSchemas";

    /// <summary>
    /// The model versions the project's checkpoints were written by, as <c>Model@fingerprint</c> entries separated by
    /// commas or spaces (not <c>;</c>: the compiler reads build properties from an .editorconfig, where <c>;</c> starts a comment) (the stamp <c>surgery inspect</c> prints; a fingerprint prefix of at least 12 hex digits will do). The
    /// build says (NS2008) when the current class cannot be reached from one of them through the recorded snapshots.
    /// </summary>
    public const string Checkpoints = "NeuralSurgeryCheckpoints";

    /// <summary>The prefix under which analyzer-config options carry MSBuild properties.</summary>
    public const string BuildPropertyPrefix = "build_property.";

    /// <summary>Every property the generator reads.</summary>
    public static ImmutableArray<string> Properties { get; } = ImmutableArray.Create(IncludeSchemas, Checkpoints);

    /// <summary>Every AdditionalFiles metadata the generator reads (none yet).</summary>
    public static ImmutableArray<string> AdditionalFileMetadata { get; } = ImmutableArray<string>.Empty;
}
