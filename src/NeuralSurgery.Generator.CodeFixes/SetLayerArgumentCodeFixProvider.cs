using System;
using System.Collections.Immutable;
using System.Composition;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator.CodeFixes;

/// <summary>
/// NS1006 in C#: "Set {Argument} to {Size}" replaces the layer's size argument (the diagnostic's additional
/// location) with the size its input has, as an integer literal. Only the expression is replaced, so a named
/// argument keeps its name and the surrounding trivia stays. NS2009 the same way: the literal that decides a width
/// (the argument, a constructor parameter's default, a constant's initialiser) gets the width a unit removal or
/// growth plan left the checkpoint with.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(SetLayerArgumentCodeFixProvider))]
[Shared]
public sealed class SetLayerArgumentCodeFixProvider : CodeFixProvider
{
    /// <summary>One key for every "Set … to …" fix, so Fix All applies them together.</summary>
    public const string EquivalenceKey = "NS1006.SetLayerArgument";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(ModelDiagnostics.LayerInputSizeMismatch.Id, Diagnostics.SurgeryDiagnostics.WidthNotFollowed.Id);

    /// <summary>Each fix edits one argument and the arguments are independent, so the batch fixer merges them safely.</summary>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(DiagnosticPropertyNames.Argument, out var argument) || argument is null
                || !diagnostic.Properties.TryGetValue(DiagnosticPropertyNames.Size, out var sizeText)
                || !long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var size)
                || diagnostic.AdditionalLocations.Count == 0)
            {
                continue;
            }

            var target = FindDocument(context.Document.Project, diagnostic.AdditionalLocations[0]);
            if (target is null)
            {
                continue;
            }

            var root = await target.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null || FindExpression(root, diagnostic.AdditionalLocations[0].SourceSpan) is not { } expression)
            {
                continue;
            }

            var title = "Set " + argument + " to " + size.ToString(CultureInfo.InvariantCulture);
            context.RegisterCodeFix(
                CodeAction.Create(title, ct => Replace(target, expression, size, ct), EquivalenceKey),
                diagnostic);
        }
    }

    private static async Task<Solution> Replace(Document document, ExpressionSyntax expression, long size, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        if (root is null)
        {
            return document.Project.Solution;
        }

        // An int literal unless the size needs a long: `4`, not `4L`, converts to a long parameter anyway.
        var token = size <= int.MaxValue ? SyntaxFactory.Literal((int)size) : SyntaxFactory.Literal(size);
        var literal = SyntaxFactory.LiteralExpression(SyntaxKind.NumericLiteralExpression, token).WithTriviaFrom(expression);
        return document.WithSyntaxRoot(root.ReplaceNode(expression, literal)).Project.Solution;
    }

    /// <summary>
    /// The document the location is in. Reader diagnostics carry file locations (path and span, no syntax tree:
    /// they are plain data the generator caches), so the document is found by path; a location in source is used
    /// as it is.
    /// </summary>
    internal static Document? FindDocument(Project project, Location location)
    {
        if (location.SourceTree is { } tree)
        {
            return project.GetDocument(tree);
        }

        var path = location.GetLineSpan().Path;
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        return project.Documents.FirstOrDefault(d => string.Equals(d.FilePath, path, StringComparison.Ordinal))
            ?? project.Documents.FirstOrDefault(d => d.FilePath is null && string.Equals(d.Name, path, StringComparison.Ordinal));
    }

    /// <summary>The expression whose span is exactly <paramref name="span"/>, or null when the text has moved since.</summary>
    private static ExpressionSyntax? FindExpression(SyntaxNode root, TextSpan span)
    {
        if (span.End > root.FullSpan.End)
        {
            return null;
        }

        for (var n = root.FindNode(span, getInnermostNodeForTie: true); n is not null && n.Span == span; n = n.Parent)
        {
            if (n is ExpressionSyntax expression)
            {
                return expression;
            }
        }

        return null;
    }
}
