using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator.Diagnostics;

/// <summary>
/// The NS2xxx catalogue (surgery, DESIGN.md section 8): what a <c>[SurgeryFrom]</c> step costs or cannot do. Each
/// rule has a help link to docs/diagnostics/NSxxxx.md and a row in AnalyzerReleases.Unshipped.md.
/// </summary>
public static class SurgeryDiagnostics
{
    public const string Category = "NeuralSurgery.Surgery";

    /// <summary>{0} the source type as written, {1} the model class.</summary>
    public static readonly DiagnosticDescriptor SourceNotSurgeryModel = Create(
        "NS2001",
        "Surgery source is not a surgery model",
        "[SurgeryFrom(typeof({0}))] on '{1}': '{0}' has no [SurgeryModel] attribute, so there is no graph to diff against and no surgery map is generated",
        DiagnosticSeverity.Error);

    /// <summary>
    /// {0} old model class, {1} new model class, {2} re-initialised elements, {3} all elements of the new model,
    /// {4} the share as a percentage, {5} the tensors with most re-initialised elements.
    /// </summary>
    public static readonly DiagnosticDescriptor ReinitialisedShare = Create(
        "NS2002",
        "Parameters a surgery re-initialises",
        "The surgery {0} → {1} re-initialises {2} of {3} parameter elements ({4}); most in {5}",
        DiagnosticSeverity.Info);

    /// <summary>{0} old model class, {1} new model class, {2} what is dropped (kind and name), {3} trained elements lost, {4} the tensors they are in.</summary>
    public static readonly DiagnosticDescriptor DroppedByTheSurgery = Create(
        "NS2003",
        "Feature or unit dropped by a surgery",
        "The surgery {0} → {1} drops {2}: {3} trained elements of {4} are not carried over",
        DiagnosticSeverity.Warning);

    /// <summary>{0} old model class, {1} new model class, {2} why.</summary>
    public static readonly DiagnosticDescriptor SurgeryNotPlanned = Create(
        "NS2004",
        "Surgery cannot be planned",
        "Cannot plan the surgery {0} → {1}: {2}",
        DiagnosticSeverity.Error);

    /// <summary>
    /// {0} the model class, {1} its latest snapshot (<c>Policy v3</c>), {2} the snapshot file, {3} the changes, {4} the
    /// generated surgery class, {5} what recording does with the tool's plan the change follows (else empty), {6} the model's
    /// source file.
    /// </summary>
    public static readonly DiagnosticDescriptor ChangedSinceSnapshot = Create(
        "NS2005",
        "Model changed since its latest snapshot",
        "'{0}' has changed since its latest snapshot {1} ({2}): {3}. The surgery map from {1} is generated as {0}.{4}; record this version with 'surgery snapshot add {6}'{5}.",
        DiagnosticSeverity.Warning);

    /// <summary>{0} the model class, {1} why checkpoints of some recorded version cannot be upgraded to the current class.</summary>
    public static readonly DiagnosticDescriptor NoSnapshotChain = Create(
        "NS2006",
        "No snapshot chain to a recorded version",
        "No migration chain for '{0}': {1}",
        DiagnosticSeverity.Warning);

    /// <summary>{0} the snapshot file, {1} what is wrong with it.</summary>
    public static readonly DiagnosticDescriptor SnapshotNotReadable = Create(
        "NS2007",
        "Snapshot file cannot be read",
        "'{0}' is not a valid snapshot: {1}",
        DiagnosticSeverity.Error);

    /// <summary>{0} what was declared (<c>Model@fingerprint</c> in NeuralSurgeryCheckpoints), {1} why no chain reaches the current class from it.</summary>
    public static readonly DiagnosticDescriptor CheckpointVersionUnreachable = Create(
        "NS2008",
        "No chain from a checkpoint version to the class",
        "Checkpoints declared as '{0}' (NeuralSurgeryCheckpoints) cannot be upgraded to the current class: {1}",
        DiagnosticSeverity.Warning);

    /// <summary>
    /// {0} what sets the sizes (a literal, a constructor parameter's default, a constant), {1} the layer arguments it
    /// sets, {2} their value now, {3} the plan files, {4} what they are after them, {5} what to do.
    /// </summary>
    public static readonly DiagnosticDescriptor WidthNotFollowed = Create(
        "NS2009",
        "Model class does not have the widths of a unit removal or growth",
        "{0} sets {1} to {2}, but after {3} (made from this class) {4}: {5}",
        DiagnosticSeverity.Warning);

    /// <summary>{0} the plan file, {1} why it cannot be read.</summary>
    public static readonly DiagnosticDescriptor PlanFileNotReadable = Create(
        "NS2010",
        "Plan file cannot be read",
        "'{0}' is not a valid surgery plan: {1}",
        DiagnosticSeverity.Warning);

    /// <summary>Every rule, in id order.</summary>
    public static ImmutableArray<DiagnosticDescriptor> All { get; } = ImmutableArray.Create(
        SourceNotSurgeryModel,
        ReinitialisedShare,
        DroppedByTheSurgery,
        SurgeryNotPlanned,
        ChangedSinceSnapshot,
        NoSnapshotChain,
        SnapshotNotReadable,
        CheckpointVersionUnreachable,
        WidthNotFollowed,
        PlanFileNotReadable);

    private static readonly Dictionary<string, DiagnosticDescriptor> ById = DiagnosticCatalogue.Index(All);

    /// <summary>The descriptor with this id; throws for an unknown id.</summary>
    public static DiagnosticDescriptor Find(string id) => DiagnosticCatalogue.Find(ById, id, "NS2xxx");

    private static DiagnosticDescriptor Create(string id, string title, string messageFormat, DiagnosticSeverity severity) =>
        DiagnosticCatalogue.Create(id, title, messageFormat, Category, severity);
}
