using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Generator.Diagnostics;
using NeuralSurgery.Generator.Specs;

namespace NeuralSurgery.Generator.Tests.Generator;

/// <summary>Nothing that flows between pipeline steps may hold a symbol, syntax, a compilation or a Roslyn location.</summary>
public class PipelineModelTests
{
    private static readonly Type[] Forbidden =
    [
        typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxTree), typeof(Compilation), typeof(SemanticModel), typeof(Location), typeof(AdditionalText),
    ];

    public static TheoryData<Type> PipelineTypes() =>
    [
        typeof(SchemaFileSpec), typeof(FeaturesSpec), typeof(ModelSpec), typeof(ResolvedModel), typeof(FeatureConstantsSpec), typeof(GeneratedSource), typeof(DiagnosticInfo),
        typeof(CompilationFacts), typeof(ReadModel), typeof(MirrorSpec), typeof(TracedModel), typeof(SurgerySpec), typeof(SurgeryEmitSpec), typeof(PlannedSurgery),
        typeof(NeuralSurgery.Generator.Reading.ModelReadResult), typeof(NeuralSurgery.Generator.Reading.WidthSite),
        typeof(SnapshotFileSpec), typeof(ModelSnapshotsSpec), typeof(PlanFileSpec), typeof(RecordedPlan), typeof(PendingPlan), typeof(PendingWidthsSpec),
    ];

    [Theory]
    [MemberData(nameof(PipelineTypes))]
    public void Pipeline_models_hold_no_symbols_syntax_or_compilation(Type type)
    {
        var problems = new List<string>();
        Walk(type, type.Name, new HashSet<Type>(), problems);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_spec_type_is_a_record_compared_by_value()
    {
        var specs = typeof(SurgeryGenerator).Assembly.GetTypes().Where(t => t.Namespace == typeof(ModelSpec).Namespace && t.IsClass).ToList();
        Assert.NotEmpty(specs);
        Assert.All(specs, t => Assert.NotNull(t.GetMethod("<Clone>$")));
    }

    private static void Walk(Type type, string path, HashSet<Type> seen, List<string> problems)
    {
        if (Forbidden.Any(f => f.IsAssignableFrom(type)))
        {
            problems.Add(path + " is " + type.Name);
            return;
        }

        if (type.IsPrimitive || type.IsEnum || type == typeof(string) || !seen.Add(type))
        {
            return;
        }

        if (type.IsGenericType)
        {
            foreach (var argument in type.GetGenericArguments())
            {
                Walk(argument, path + "<" + argument.Name + ">", seen, problems);
            }
        }

        if (type.Namespace is { } ns && (ns.StartsWith("System", StringComparison.Ordinal) || ns.StartsWith("Microsoft.CodeAnalysis.Text", StringComparison.Ordinal)))
        {
            return; // framework collections and Roslyn's text structs (TextSpan, LinePositionSpan) are plain data
        }

        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            Walk(field.FieldType, path + "." + field.Name, seen, problems);
        }
    }
}
