using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Generator.Diagnostics;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// The NS1xxx catalogue (model and mirror, DESIGN.md section 8): what the model reader reports. Each rule has a
/// stable id, a title, a message format whose arguments name what is involved, a default severity, the
/// <see cref="Category"/> and a help link to docs/diagnostics/NSxxxx.md; AnalyzerReleases.Unshipped.md lists them.
/// </summary>
/// <remarks>
/// The reader returns <see cref="ReaderDiagnostic"/> values (plain data); <see cref="ReaderDiagnostic.ToDiagnostic"/>
/// turns one into a Roslyn <see cref="Diagnostic"/> with the descriptor found here by id.
/// </remarks>
public static class ModelDiagnostics
{
    public const string Category = "NeuralSurgery.Model";

    /// <summary>
    /// Where the repository's documentation is published. Help links are absolute so that an IDE opens them from a
    /// package consumer's build, which has no docs/ folder; the one place to change when the repository moves.
    /// </summary>
    public const string DocsBaseUrl = "https://github.com/neuralsurgery/NeuralSurgery/blob/main/";

    /// <summary>The help link of diagnostic {0}: its page under docs/diagnostics at <see cref="DocsBaseUrl"/>.</summary>
    public const string HelpLinkFormat = DocsBaseUrl + "docs/diagnostics/{0}.md";

    /// <summary>
    /// {0} kind of construct (call, statement, expression, …), {1} its code, {2} where (Type.forward or Type constructor),
    /// {3} why it cannot be followed.
    /// </summary>
    public static readonly DiagnosticDescriptor UnsupportedConstruct = Create(
        "NS1001",
        "Unsupported construct in a model class",
        "Unsupported {0} '{1}' in {2}: {3}; the model graph is not built",
        DiagnosticSeverity.Error);

    /// <summary>{0} kind, {1} code, {2} where, {3} what the mirror treats it as.</summary>
    public static readonly DiagnosticDescriptor ApproximatedConstruct = Create(
        "NS1002",
        "Construct approximated by the mirror",
        "Unsupported {0} '{1}' in {2}: the graph treats it as {3}; feature sets stay exact but numeric execution of the graph differs",
        DiagnosticSeverity.Warning);

    /// <summary>
    /// {0} parameter name, {1} callee (factory, method or constructor), {2} the argument's code, {3} why it is not
    /// constant and which ways would bind it (<see cref="NonConstantRule"/> when nothing more specific is known).
    /// </summary>
    public static readonly DiagnosticDescriptor NonConstantSize = Create(
        "NS1003",
        "Non-constant size or layer option",
        "Argument '{0}' of '{1}' is '{2}', which is not a compile-time constant; {3}",
        DiagnosticSeverity.Error);

    /// <summary>NS1003's {3} when the value is not bound by anything the reader follows.</summary>
    public const string NonConstantRule = "sizes and layer options must be literals, const fields or locals, or arithmetic of them";

    /// <summary>{0} forward parameter, {1} the schema file (or "the feature schema (none was given)").</summary>
    public static readonly DiagnosticDescriptor ForwardParameterWithoutSchemaInput = Create(
        "NS1004",
        "Forward parameter without a schema input",
        "Forward parameter '{0}' has no input in {1} and is not the initial state of an LSTM or GRU, so its shape is unknown",
        DiagnosticSeverity.Error);

    /// <summary>{0} schema input, {1} schema file, {2} the forward method.</summary>
    public static readonly DiagnosticDescriptor SchemaInputWithoutForwardParameter = Create(
        "NS1005",
        "Schema input without a forward parameter",
        "Schema input '{0}' in {1} has no parameter of that name in {2}",
        DiagnosticSeverity.Warning);

    /// <summary>{0} module path, {1} layer kind, {2} factory parameter, {3} its value, {4} the input's code, {5} the input's shape.</summary>
    public static readonly DiagnosticDescriptor LayerInputSizeMismatch = Create(
        "NS1006",
        "Layer input size disagrees with its input",
        "Module '{0}' ({1}) has {2} = {3}, but its input '{4}' has shape {5}",
        DiagnosticSeverity.Error);

    /// <summary>{0} the expression's code, {1} the graph error.</summary>
    public static readonly DiagnosticDescriptor GraphShapeError = Create(
        "NS1007",
        "Inconsistent shapes in forward",
        "The graph is inconsistent at '{0}': {1}",
        DiagnosticSeverity.Error);

    /// <summary>{0} forward parameter, {1} the schema file (or "the feature schema (none was given)").</summary>
    public static readonly DiagnosticDescriptor UnusedForwardParameter = Create(
        "NS1008",
        "Unused forward parameter",
        "Forward parameter '{0}' is never used and has no input in {1}; it is left out of the graph",
        DiagnosticSeverity.Warning);

    /// <summary>{0} schema output, {1} schema file, {2} the forward method.</summary>
    public static readonly DiagnosticDescriptor SchemaOutputNotReturned = Create(
        "NS1009",
        "Schema output not returned",
        "Schema output '{0}' in {1} is not returned by {2}",
        DiagnosticSeverity.Warning);

    /// <summary>{0} returned code, {1} schema output, {2} its width, {3} schema file, {4} the returned shape.</summary>
    public static readonly DiagnosticDescriptor OutputWidthMismatch = Create(
        "NS1010",
        "Returned width disagrees with the schema output",
        "Returned value '{0}' is bound to schema output '{1}' of width {2} in {3}, but has shape {4}",
        DiagnosticSeverity.Error);

    /// <summary>{0} field, {1} the module class.</summary>
    public static readonly DiagnosticDescriptor ModuleFieldNotAssigned = Create(
        "NS1011",
        "Module field never assigned",
        "Module field '{0}' of '{1}' is not assigned by an initialiser or the constructor; RegisterComponents() skips it, so it has no state_dict entries",
        DiagnosticSeverity.Warning);

    /// <summary>{0} field, {1} "parameter" or "buffer", {2} the module class.</summary>
    public static readonly DiagnosticDescriptor DirectParameterField = Create(
        "NS1012",
        "Parameter or buffer whose shape the reader cannot tell",
        "Field '{0}' registers a {1} on '{2}' whose shape the reader cannot tell; create it with torch.zeros, ones, randn, rand, empty or eye (optionally inside Parameter(...)) with sizes known at build time",
        DiagnosticSeverity.Error);

    /// <summary>{0} the model class.</summary>
    public static readonly DiagnosticDescriptor ForwardNotFound = Create(
        "NS1013",
        "Model class without forward",
        "'{0}' declares no forward method with tensor parameters; the model graph is not built",
        DiagnosticSeverity.Error);

    /// <summary>{0} the module class.</summary>
    public static readonly DiagnosticDescriptor ComponentsNotRegistered = Create(
        "NS1014",
        "Module class never calls RegisterComponents",
        "'{0}' has module fields but its constructor never calls RegisterComponents(); TorchSharp registers none of them, so a checkpoint's state_dict will not have the names the reader derives",
        DiagnosticSeverity.Warning);

    /// <summary>
    /// {0} feature, {1} schema input, {2} schema file, {3} the model class. Reported in the YAML file at the feature
    /// (paper 001 section 2.3.2: a feature no parameter element interacts with cannot influence training).
    /// </summary>
    public static readonly DiagnosticDescriptor UnmappedFeature = Create(
        "NS1015",
        "Feature reaches no parameter",
        "Feature '{0}' of input '{1}' in {2} reaches no parameter of '{3}': no weight interacts with it, so the model cannot learn from it",
        DiagnosticSeverity.Warning);

    /// <summary>{0} the model class.</summary>
    public static readonly DiagnosticDescriptor ModelClassNotPartial = Create(
        "NS1016",
        "Surgery model class is not partial",
        "'{0}' has [SurgeryModel] but is not declared partial (nor are all the types around it), so the generator cannot add its feature constants, mirror graph and surgery maps",
        DiagnosticSeverity.Error);

    /// <summary>
    /// {0} the argument (<c>hidden</c>, <c>config.n_embd</c>), {1} schema file, {2} what it should name ("parameter of
    /// the Net constructor", "settable member of 'GptConfig'"), {3} the names it could be.
    /// </summary>
    public static readonly DiagnosticDescriptor SchemaArgumentUnknown = Create(
        "NS1017",
        "Schema argument names no constructor parameter",
        "Argument '{0}' in {1} names no {2}; {3}",
        DiagnosticSeverity.Error);

    /// <summary>{0} the argument, {1} schema file, {2} its value, {3} what it binds, {4} that one's C# type, {5} what the type takes.</summary>
    public static readonly DiagnosticDescriptor SchemaArgumentWrongType = Create(
        "NS1018",
        "Schema argument of the wrong type",
        "Argument '{0}' in {1} is {2}, but {3} is of type '{4}'; expected {5}",
        DiagnosticSeverity.Error);

    /// <summary>Every rule, in id order.</summary>
    public static ImmutableArray<DiagnosticDescriptor> All { get; } = ImmutableArray.Create(
        UnsupportedConstruct,
        ApproximatedConstruct,
        NonConstantSize,
        ForwardParameterWithoutSchemaInput,
        SchemaInputWithoutForwardParameter,
        LayerInputSizeMismatch,
        GraphShapeError,
        UnusedForwardParameter,
        SchemaOutputNotReturned,
        OutputWidthMismatch,
        ModuleFieldNotAssigned,
        DirectParameterField,
        ForwardNotFound,
        ComponentsNotRegistered,
        UnmappedFeature,
        ModelClassNotPartial,
        SchemaArgumentUnknown,
        SchemaArgumentWrongType);

    private static readonly Dictionary<string, DiagnosticDescriptor> ById = DiagnosticCatalogue.Index(All);

    /// <summary>The descriptor with this id; throws for an unknown id.</summary>
    public static DiagnosticDescriptor Find(string id) => DiagnosticCatalogue.Find(ById, id, "NS1xxx");

    private static DiagnosticDescriptor Create(string id, string title, string messageFormat, DiagnosticSeverity severity) =>
        DiagnosticCatalogue.Create(id, title, messageFormat, Category, severity);
}
