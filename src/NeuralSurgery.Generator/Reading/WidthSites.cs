using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NeuralSurgery.Schema;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// Where the class writes one size argument of a layer (<c>fc1</c>'s <c>outputSize</c>), and the literal that decides
/// it when there is one: the argument itself, the default of the model constructor's parameter it reads, or the
/// initialiser of the constant it names. A unit removal or growth changes sizes in the checkpoint, and the class
/// must follow (issue 15), so NS2009 points at <paramref name="Edit"/> and its code fix rewrites that literal.
/// </summary>
/// <param name="Module">The module path.</param>
/// <param name="Argument">The factory's parameter name.</param>
/// <param name="Location">The argument expression in the factory call.</param>
/// <param name="Edit">The integer literal to rewrite, or null when no single literal decides the value (an expression, a field set in the constructor, a submodule's parameter, a value bound in the schema).</param>
/// <param name="Source">What sets it, for messages: <c>the literal 64</c>, <c>parameter 'hidden' (its default, 64)</c>, <c>constant 'Hidden'</c>, <c>'hidden * 2'</c>.</param>
/// <param name="Value">The value of the literal at <paramref name="Edit"/>: a fix is offered only when it is the width the reader built (a chained constructor or a reassigned parameter can make them differ).</param>
/// <param name="Uses">How often the model class names what <paramref name="Edit"/> decides (the parameter, the constant; 1 for a literal argument): a fix is offered only when every use is a size the plan changes alike.</param>
public sealed record WidthSite(string Module, string Argument, ReaderLocation Location, ReaderLocation? Edit, string Source, long Value = 0, int Uses = 1);

internal static class WidthSiteReader
{
    /// <summary>The width sites of the explicit integer arguments of every layer.</summary>
    public static IEnumerable<WidthSite> Of(IEnumerable<LayerNode> layers, SemanticModels models, INamedTypeSymbol modelClass, FeatureSchema? schema)
    {
        // One scan of the class per parameter or constant, however many layers read it: the reader runs per edit.
        var uses = new Dictionary<ISymbol, int>(SymbolEqualityComparer.Default);
        foreach (var layer in layers)
        {
            foreach (var argument in layer.Arguments.OrderBy(a => a.Value.SpanStart))
            {
                if (argument.Value is not ExpressionSyntax expression)
                {
                    continue;
                }

                var model = models.Get(expression.SyntaxTree);
                if (model.GetTypeInfo(expression).ConvertedType?.SpecialType is not (SpecialType.System_Int64 or SpecialType.System_Int32))
                {
                    continue;
                }

                var (edit, source, symbol) = Resolve(expression, model, modelClass, schema);

                // Only a literal of the model class itself is fixed: a constant or a submodule class elsewhere may size
                // other models too.
                if (edit is not null && !modelClass.DeclaringSyntaxReferences.Any(r => r.SyntaxTree == edit.SyntaxTree && r.Span.Contains(edit.Span)))
                {
                    edit = null;
                }

                yield return edit is null
                    ? new WidthSite(layer.Path, argument.Key, ReaderLocation.From(expression.GetLocation()), null, source)
                    : new WidthSite(layer.Path, argument.Key, ReaderLocation.From(expression.GetLocation()), ReaderLocation.From(edit.GetLocation()), source, System.Convert.ToInt64(((LiteralExpressionSyntax)edit).Token.Value, System.Globalization.CultureInfo.InvariantCulture), symbol is null ? 1 : uses.TryGetValue(symbol, out var n) ? n : uses[symbol] = Uses(symbol, modelClass, models));
            }
        }
    }

    /// <summary>References to <paramref name="symbol"/> in the model class's declarations.</summary>
    private static int Uses(ISymbol symbol, INamedTypeSymbol modelClass, SemanticModels models)
    {
        var count = 0;
        foreach (var reference in modelClass.DeclaringSyntaxReferences)
        {
            var model = models.Get(reference.SyntaxTree);
            foreach (var name in reference.GetSyntax().DescendantNodes().OfType<IdentifierNameSyntax>().Where(n => n.Identifier.ValueText == symbol.Name))
            {
                if (SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(name).Symbol, symbol))
                {
                    count++;
                }
            }
        }

        return count;
    }

    private static (ExpressionSyntax? Edit, string Source, ISymbol? Symbol) Resolve(ExpressionSyntax expression, SemanticModel model, INamedTypeSymbol modelClass, FeatureSchema? schema)
    {
        var e = Strip(expression);
        if (IsInteger(e))
        {
            return (e, "the literal " + e, null);
        }

        switch (model.GetSymbolInfo(e).Symbol)
        {
            // Only the model's own constructor: a submodule's parameter takes whatever its caller passes.
            case IParameterSymbol { ContainingSymbol: IMethodSymbol { MethodKind: MethodKind.Constructor } ctor } p
                when SymbolEqualityComparer.Default.Equals(ctor.ContainingType, modelClass):
                if (schema is not null && SchemaArguments.Find(schema.Arguments, p.Name) is not null)
                {
                    return (null, "parameter '" + p.Name + "', bound by 'arguments' in " + System.IO.Path.GetFileName(schema.Path), p);
                }

                if (p.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax() is ParameterSyntax { Default.Value: { } d } && IsInteger(Strip(d)))
                {
                    return (Strip(d), "parameter '" + p.Name + "' (its default, " + Strip(d) + ")", p);
                }

                return (null, "parameter '" + p.Name + "'", p);
            case IFieldSymbol { IsConst: true } f when Initializer(f) is { } init:
                return (init, "constant '" + f.Name + "'", f);
            case IFieldSymbol { IsStatic: true, IsReadOnly: true } f when Initializer(f) is { } init:
                return (init, "field '" + f.Name + "'", f);
            case ILocalSymbol { IsConst: true } l when l.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax() is VariableDeclaratorSyntax { Initializer.Value: { } v } && IsInteger(Strip(v)):
                return (Strip(v), "constant '" + l.Name + "'", l);
            default:
                return (null, "'" + expression + "'", null);
        }
    }

    private static ExpressionSyntax? Initializer(IFieldSymbol field) =>
        field.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax() is VariableDeclaratorSyntax { Initializer.Value: { } v } && IsInteger(Strip(v)) ? Strip(v) : null;

    private static ExpressionSyntax Strip(ExpressionSyntax e)
    {
        while (true)
        {
            switch (e)
            {
                case ParenthesizedExpressionSyntax p:
                    e = p.Expression;
                    break;
                case CastExpressionSyntax c:
                    e = c.Expression;
                    break;
                default:
                    return e;
            }
        }
    }

    private static bool IsInteger(ExpressionSyntax e) => e is LiteralExpressionSyntax l && l.IsKind(SyntaxKind.NumericLiteralExpression) && l.Token.Value is int or long or uint or ulong;
}
