using NeuralSurgery.Collections;
using NeuralSurgery.Generator.Diagnostics;
using NeuralSurgery.Plan;
using NeuralSurgery.Snapshots;

namespace NeuralSurgery.Generator.Specs;

/// <summary>A <c>*.snapshot.json</c> AdditionalText, read: the snapshot, or the NS2007 that says why not.</summary>
/// <remarks>Must stay structurally equatable: no symbols, syntax or compilation.</remarks>
public sealed record SnapshotFileSpec(string Path, ModelSnapshot? Snapshot, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>
/// A model's mirror with its own snapshots and the plan files that start from one of them: equal when another
/// model's snapshot changes, so its check stays cached.
/// </summary>
public sealed record ModelSnapshotsSpec(MirrorSpec Mirror, EquatableArray<ModelSnapshot> Snapshots, EquatableArray<RecordedPlan> Plans = default);

/// <summary>A <c>*.plan.json</c> AdditionalText: its plan, or NS2010 (null plan and no diagnostic: a file of another format).</summary>
public sealed record PlanFileSpec(string Path, SurgeryPlan? Plan, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>A plan file of the project by file name (what messages show), with its plan and its path.</summary>
public sealed record RecordedPlan(string FileName, SurgeryPlan Plan, string Path);

/// <summary>A diagnostic about a model's snapshots, located at the model's <c>[SurgeryModel]</c> when reported.</summary>
/// <param name="Id">NS2004, NS2005 or NS2006.</param>
/// <param name="Args">Its message arguments; for NS2005 the last one (the model file) is added when reported.</param>
public sealed record SnapshotFinding(string Id, EquatableArray<string> Args);

/// <summary>A checkpoint version the project declares: <c>Model@fingerprint</c> (the fingerprint may be a prefix).</summary>
public sealed record DeclaredCheckpoint(string Text, string Model, string Fingerprint);

/// <summary><see cref="Configuration.GeneratorOptions.Checkpoints"/> parsed: the entries, and the text of each malformed one with why.</summary>
public sealed record DeclaredCheckpoints(EquatableArray<DeclaredCheckpoint> Entries, EquatableArray<SnapshotFinding> Problems);

/// <summary>What a model's <c>Migrations</c> class is made from: no locations.</summary>
/// <param name="Target">Where to emit (the model class).</param>
/// <param name="Model">The model's name in snapshots and checkpoint stamps.</param>
/// <param name="LatestRecorded">The latest snapshot's version.</param>
/// <param name="CurrentVersion">The class as it is: <see cref="LatestRecorded"/>, or one more when it changed since.</param>
/// <param name="Fingerprints">Per version 1 … <see cref="CurrentVersion"/>, its fingerprint.</param>
/// <param name="Signatures">Per version, its state_dict names and shapes (<c>ModelSnapshot.SignatureOf</c>), to recognise unstamped checkpoints.</param>
/// <param name="StepPlans">Plan JSON of each step: <c>StepPlans[i]</c> goes from version i + 1 to i + 2.</param>
public sealed record MigrationsEmitSpec(TypeSpec Target, string Model, int LatestRecorded, int CurrentVersion, EquatableArray<string> Fingerprints, EquatableArray<string> Signatures, EquatableArray<string> StepPlans);

/// <summary>
/// A model compared with its snapshots: the surgery from the latest snapshot when the class changed since, the
/// <c>Migrations</c> chain, and what to report.
/// </summary>
public sealed record SnapshotCheck(string MetadataName, SurgeryEmitSpec? Surgery, MigrationsEmitSpec? Migrations, EquatableArray<SnapshotFinding> Findings);

/// <summary>Plans made from a model as it is now (one, or several one after the other), as messages name them, with the sizes they change.</summary>
public sealed record PendingPlan(string Label, EquatableArray<Diff.WidthChange> Changes);

/// <summary>The plans a model's widths do not follow yet (NS2009), without locations, and plans that did not fit (NS2010).</summary>
public sealed record PendingWidthsSpec(string MetadataName, EquatableArray<PendingPlan> Plans, EquatableArray<DiagnosticInfo> Problems);
