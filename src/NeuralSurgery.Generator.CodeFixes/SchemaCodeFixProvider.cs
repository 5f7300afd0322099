using System.Collections.Immutable;
using System.Composition;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Text;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator.CodeFixes;

/// <summary>
/// Fixes in the feature schema (the YAML AdditionalFiles item) rather than in C#:
/// <list type="bullet">
/// <item>NS1006 where the layer reads a schema input narrower than the layer: "Add the missing features to input
/// 'x' in the schema" appends one feature per missing slot, <c>feature_{slot}</c>. Single-slot features rather than
/// one <c>{ name, width }</c> entry, because the surgery differ keys columns by feature name: separate names let the
/// user rename each placeholder to what it is, and removing one later drops one column, not a block.</item>
/// <item>NS1004 where the parameter feeds a layer of known size: "Add input 'mask' to the schema" appends a dense
/// input with that many features.</item>
/// </list>
/// Both read the schema as it is now (not as the diagnostic saw it) and offer nothing when the diagnostic lacks
/// the properties, the schema is not in the project, or the schema does not read without errors.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(SchemaCodeFixProvider))]
[Shared]
public sealed class SchemaCodeFixProvider : CodeFixProvider
{
    public const string AddFeaturesEquivalenceKey = "NS1006.AddSchemaFeatures";

    public const string AddInputEquivalenceKey = "NS1004.AddSchemaInput";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(
        ModelDiagnostics.ForwardParameterWithoutSchemaInput.Id,
        ModelDiagnostics.LayerInputSizeMismatch.Id);

    /// <summary>
    /// No Fix All: every fix inserts at the end of the same list in the same file (the batch fixer merges C#
    /// documents, not AdditionalFiles), and after one fix the others' widths are stale.
    /// </summary>
    public override FixAllProvider? GetFixAllProvider() => null;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(DiagnosticPropertyNames.SchemaPath, out var schemaPath) || schemaPath is null
                || !diagnostic.Properties.TryGetValue(DiagnosticPropertyNames.Expected, out var expectedText)
                || !int.TryParse(expectedText, NumberStyles.None, CultureInfo.InvariantCulture, out var expected)
                || SchemaDocuments.Find(context.Document.Project, schemaPath) is not { } schema)
            {
                continue;
            }

            var text = await schema.GetTextAsync(context.CancellationToken).ConfigureAwait(false);
            var path = schema.FilePath ?? schema.Name;
            if (diagnostic.Id == ModelDiagnostics.LayerInputSizeMismatch.Id)
            {
                if (!diagnostic.Properties.TryGetValue(DiagnosticPropertyNames.SchemaInput, out var input) || input is null
                    || SchemaTextEditor.AppendFeatures(text.ToString(), path, input, expected) is not { } edit)
                {
                    continue;
                }

                var title = edit.Names.Length == 1
                    ? "Add the missing feature to input '" + input + "' in the schema"
                    : "Add the " + edit.Names.Length.ToString(CultureInfo.InvariantCulture) + " missing features to input '" + input + "' in the schema";
                context.RegisterCodeFix(
                    CodeAction.Create(title, ct => Apply(schema, edit.Change, ct), AddFeaturesEquivalenceKey),
                    diagnostic);
            }
            else
            {
                if (!diagnostic.Properties.TryGetValue(DiagnosticPropertyNames.Input, out var input) || input is null
                    || SchemaTextEditor.AppendInput(text.ToString(), path, input, expected) is not { } edit)
                {
                    continue;
                }

                context.RegisterCodeFix(
                    CodeAction.Create("Add input '" + input + "' to the schema", ct => Apply(schema, edit.Change, ct), AddInputEquivalenceKey),
                    diagnostic);
            }
        }
    }

    private static async Task<Solution> Apply(TextDocument schema, TextChange change, CancellationToken ct)
    {
        var text = await schema.GetTextAsync(ct).ConfigureAwait(false);
        return schema.Project.Solution.WithAdditionalDocumentText(schema.Id, text.WithChanges(change));
    }
}
