namespace NeuralSurgery.Generator.Configuration;

/// <summary>Names of the incremental pipeline steps, for step tracking in tests.</summary>
public static class TrackingNames
{
    /// <summary>Each <c>*.features.yaml</c> AdditionalText parsed into a <see cref="Specs.SchemaFileSpec"/>.</summary>
    public const string SchemaFiles = nameof(SchemaFiles);

    /// <summary>The schema diagnostics of every schema file, as data.</summary>
    public const string SchemaDiagnostics = nameof(SchemaDiagnostics);

    /// <summary>Each <c>[SurgeryModel]</c> class as a <see cref="Specs.ModelSpec"/>.</summary>
    public const string Models = nameof(Models);

    /// <summary>Each model paired with the schema its attribute names (or with none).</summary>
    public const string ResolvedModels = nameof(ResolvedModels);

    /// <summary>What the feature-constants file of each model is made from (no locations).</summary>
    public const string FeatureConstants = nameof(FeatureConstants);

    /// <summary>The feature-constants source text of each model.</summary>
    public const string FeatureConstantsSource = nameof(FeatureConstantsSource);

    /// <summary>Models whose schema file is not among the AdditionalFiles.</summary>
    public const string MissingSchemas = nameof(MissingSchemas);

    /// <summary>The <see cref="GeneratorOptions.IncludeSchemas"/> switch.</summary>
    public const string IncludeSchemasOption = nameof(IncludeSchemasOption);
}
