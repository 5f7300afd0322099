using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using NeuralSurgery.Generator.Diagnostics;
using NeuralSurgery.Generator.Emit;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator.Analyzers;

/// <summary>
/// The rules about the surgery attributes that need only symbols, not the model reader: NS1016 (a
/// <c>[SurgeryModel]</c> class the generator cannot extend because it, or a type around it, is not partial) and
/// NS2001 (a <c>[SurgeryFrom(typeof(X))]</c> whose X is no surgery model). They run as an analyzer rather than in
/// the generator so the IDE shows them as the user types, and so the generator's pipeline carries no symbols.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class SurgeryAttributeAnalyzer : DiagnosticAnalyzer
{
    /// <summary>Model classes are named with their containing types (<c>Outer.Policy</c>), as the user reads them in code.</summary>
    private static readonly SymbolDisplayFormat ClassFormat = new(
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypes,
        genericsOptions: SymbolDisplayGenericsOptions.IncludeTypeParameters);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(ModelDiagnostics.ModelClassNotPartial, SurgeryDiagnostics.SourceNotSurgeryModel);

    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();

        // Generated code never carries the user's [SurgeryModel]; the generator's own partial declarations of a
        // model class are still seen through the symbol's declaring references.
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            // The attributes are internal to each compilation (post-initialisation source), so they are looked up
            // per compilation; without the generator there is nothing to check.
            var model = start.Compilation.GetTypeByMetadataName(AttributeSource.SurgeryModelAttributeMetadataName);
            if (model is null)
            {
                return;
            }

            var from = start.Compilation.GetTypeByMetadataName(AttributeSource.SurgeryFromAttributeFullName);
            start.RegisterSymbolAction(symbol => Analyze(symbol, model, from), SymbolKind.NamedType);
        });
    }

    private static void Analyze(SymbolAnalysisContext context, INamedTypeSymbol modelAttribute, INamedTypeSymbol? fromAttribute)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        var attributes = type.GetAttributes();
        if (!attributes.Any(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, modelAttribute)))
        {
            return;
        }

        var name = type.ToDisplayString(ClassFormat);
        if (!IsPartialWithContainers(type, context.CancellationToken))
        {
            context.ReportDiagnostic(Diagnostic.Create(ModelDiagnostics.ModelClassNotPartial, IdentifierLocation(type, context.CancellationToken), name));
        }

        if (fromAttribute is null)
        {
            return;
        }

        foreach (var attribute in attributes)
        {
            if (!SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, fromAttribute)
                || attribute.ConstructorArguments.Length != 1
                || attribute.ConstructorArguments[0].Value is not INamedTypeSymbol source
                || source.TypeKind == TypeKind.Error
                || source.OriginalDefinition.GetAttributes().Any(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, modelAttribute)))
            {
                continue;
            }

            var typeOf = TypeOfArgument(attribute, context.CancellationToken);
            var written = typeOf?.Type.ToString() ?? source.ToDisplayString(ClassFormat);
            var location = typeOf?.GetLocation() ?? IdentifierLocation(type, context.CancellationToken);
            context.ReportDiagnostic(Diagnostic.Create(SurgeryDiagnostics.SourceNotSurgeryModel, location, written, name));
        }
    }

    /// <summary>Every declaration of the type and of each type around it says partial: otherwise the generator's part cannot join it.</summary>
    private static bool IsPartialWithContainers(INamedTypeSymbol type, System.Threading.CancellationToken ct)
    {
        for (var t = type; t is not null; t = t.ContainingType)
        {
            foreach (var reference in t.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(ct) is TypeDeclarationSyntax declaration && !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>The identifier of the first declaration without partial (the one to fix), else of the first declaration.</summary>
    private static Location IdentifierLocation(INamedTypeSymbol type, System.Threading.CancellationToken ct)
    {
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(ct) is TypeDeclarationSyntax declaration && !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                return declaration.Identifier.GetLocation();
            }
        }

        return type.Locations.FirstOrDefault() ?? Location.None;
    }

    private static TypeOfExpressionSyntax? TypeOfArgument(AttributeData attribute, System.Threading.CancellationToken ct) =>
        attribute.ApplicationSyntaxReference?.GetSyntax(ct) is AttributeSyntax { ArgumentList.Arguments: { Count: > 0 } arguments }
            ? arguments[0].Expression as TypeOfExpressionSyntax
            : null;
}
