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

    /// <summary>The prefix under which analyzer-config options carry MSBuild properties.</summary>
    public const string BuildPropertyPrefix = "build_property.";

    /// <summary>Every property the generator reads.</summary>
    public static ImmutableArray<string> Properties { get; } = ImmutableArray.Create(IncludeSchemas);

    /// <summary>Every AdditionalFiles metadata the generator reads (none yet).</summary>
    public static ImmutableArray<string> AdditionalFileMetadata { get; } = ImmutableArray<string>.Empty;
}
