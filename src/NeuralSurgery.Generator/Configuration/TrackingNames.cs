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

    /// <summary>Whether the compilation references NeuralSurgery.Core and NeuralSurgery.Runtime.</summary>
    public const string CompilationFacts = nameof(CompilationFacts);

    /// <summary>Each model read by the model reader (re-runs per compilation; its output is value-equatable).</summary>
    public const string ReadModels = nameof(ReadModels);

    /// <summary>The reader's NS1xxx diagnostics.</summary>
    public const string ReaderDiagnostics = nameof(ReaderDiagnostics);

    /// <summary>Each model whose graph was built: graph and location-free schema.</summary>
    public const string Mirrors = nameof(Mirrors);

    /// <summary>Each mirror traced: graph JSON and unmapped features.</summary>
    public const string Traces = nameof(Traces);

    /// <summary>The mirror source text of each model.</summary>
    public const string MirrorSource = nameof(MirrorSource);

    /// <summary>NS1007 for graphs the tracer rejected (their mirror is not emitted).</summary>
    public const string TraceErrors = nameof(TraceErrors);

    /// <summary>NS1015 for features no parameter interacts with.</summary>
    public const string UnmappedFeatures = nameof(UnmappedFeatures);

    /// <summary>Each <c>[SurgeryFrom]</c> with both sides.</summary>
    public const string Surgeries = nameof(Surgeries);

    /// <summary>Each surgery planned: plan JSON and NS2xxx diagnostics.</summary>
    public const string Plans = nameof(Plans);

    /// <summary>The surgery map source text of each surgery.</summary>
    public const string SurgerySource = nameof(SurgerySource);

    /// <summary>Each <c>*.snapshot.json</c> AdditionalText read into a <see cref="Specs.SnapshotFileSpec"/>.</summary>
    public const string SnapshotFiles = nameof(SnapshotFiles);

    /// <summary>NS2007 for snapshot files that cannot be read.</summary>
    public const string SnapshotDiagnostics = nameof(SnapshotDiagnostics);

    /// <summary>Each <c>*.plan.json</c> AdditionalText read into a <see cref="Specs.PlanFileSpec"/>.</summary>
    public const string PlanFiles = nameof(PlanFiles);

    /// <summary>NS2009 for each plan made from a model that the model's widths do not follow yet.</summary>
    public const string PendingWidths = nameof(PendingWidths);

    /// <summary>Each model's mirror with the snapshots of that model (no others).</summary>
    public const string ModelSnapshots = nameof(ModelSnapshots);

    /// <summary>The checkpoint versions the project declares (<see cref="GeneratorOptions.Checkpoints"/>), parsed.</summary>
    public const string DeclaredCheckpoints = nameof(DeclaredCheckpoints);

    /// <summary>NS2008 for each model a declared checkpoint version cannot reach.</summary>
    public const string CheckpointReach = nameof(CheckpointReach);

    /// <summary>Each traced model compared with its snapshots: the surgery from the latest, the chain's step plans.</summary>
    public const string SnapshotChecks = nameof(SnapshotChecks);

    /// <summary>NS2004, NS2005 and NS2006 of the snapshot checks, located at the models.</summary>
    public const string SnapshotFindings = nameof(SnapshotFindings);

    /// <summary>The source text of the surgery from the latest snapshot.</summary>
    public const string SnapshotSurgerySource = nameof(SnapshotSurgerySource);

    /// <summary>The source text of each model's <c>Migrations</c> class.</summary>
    public const string MigrationsSource = nameof(MigrationsSource);
}
