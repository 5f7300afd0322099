using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using NeuralSurgery.Collections;

namespace NeuralSurgery.Generator.Reading;

/// <summary>
/// Collects reader diagnostics in the order found, dropping exact duplicates (a nested module class used twice
/// reports a construct in its forward once).
/// </summary>
internal sealed class DiagnosticBag
{
    private readonly List<ReaderDiagnostic> _items = [];
    private readonly HashSet<(string Id, ReaderLocation Location, string Message)> _seen = [];

    public bool GraphFailed => _items.Any(d => d.Fallback == ReaderDiagnostic.GraphNotBuilt);

    public EquatableArray<ReaderDiagnostic> ToArray() => _items.ToEquatableArray();

    public void Add(
        DiagnosticDescriptor descriptor,
        Location location,
        string? fallback,
        IEnumerable<Location>? additionalLocations,
        IEnumerable<DiagnosticProperty>? properties,
        params string[] args)
    {
        var message = string.Format(System.Globalization.CultureInfo.InvariantCulture, descriptor.MessageFormat.ToString(System.Globalization.CultureInfo.InvariantCulture), args);
        Add(descriptor, ReaderLocation.From(location), message, fallback, additionalLocations, properties, args);
    }

    public void Add(
        DiagnosticDescriptor descriptor,
        ReaderLocation location,
        string message,
        string? fallback,
        IEnumerable<Location>? additionalLocations,
        IEnumerable<DiagnosticProperty>? properties,
        string[] args)
    {
        if (!_seen.Add((descriptor.Id, location, message)))
        {
            return;
        }

        _items.Add(new ReaderDiagnostic(
            descriptor.Id,
            descriptor.DefaultSeverity,
            message,
            location,
            fallback,
            args.ToEquatableArray(),
            (additionalLocations ?? []).Select(ReaderLocation.From).ToEquatableArray(),
            (properties ?? []).ToEquatableArray()));
    }

    /// <summary>NS1001: a construct with no sound fallback; the graph is not built.</summary>
    public void Unsupported(SyntaxNode node, string kind, string where, string reason) =>
        Add(ModelDiagnostics.UnsupportedConstruct, node.GetLocation(), ReaderDiagnostic.GraphNotBuilt, null, null, kind, ReaderText.Of(node), where, reason);

    /// <summary>NS1002: a construct followed with a fallback sound for the mirror.</summary>
    public void Approximated(SyntaxNode node, string kind, string where, string treatedAs) =>
        Add(ModelDiagnostics.ApproximatedConstruct, node.GetLocation(), "treated as " + treatedAs, null, null, kind, ReaderText.Of(node), where, treatedAs);

    /// <summary>NS1003 at <paramref name="node"/>; <paramref name="reason"/> says why and how to bind it (default: the general rule).</summary>
    public void NonConstant(SyntaxNode node, string argument, string callee, string? reason = null) =>
        Add(ModelDiagnostics.NonConstantSize, node.GetLocation(), ReaderDiagnostic.GraphNotBuilt, null, null, argument, callee, ReaderText.Of(node), reason ?? ModelDiagnostics.NonConstantRule);

    /// <summary>
    /// NS1003 for a use at <paramref name="use"/> (argument <paramref name="argument"/> of <paramref name="callee"/>)
    /// of a value that is not constant because of <paramref name="binding"/>: at the place the binding names if any
    /// (where it entered a nested module), with its reason; nothing when its error was reported already.
    /// </summary>
    public void NonConstant(SyntaxNode use, string argument, string callee, ConstBinding? binding)
    {
        if (binding is { Reported: true })
        {
            return;
        }

        if (binding is { Site: { } site })
        {
            NonConstant(site, binding.Argument ?? argument, binding.Callee ?? callee, binding.Reason);
        }
        else
        {
            NonConstant(use, argument, callee, binding?.Reason);
        }
    }

    /// <summary>NS1007: a <see cref="Graph.GraphException"/> at the C# expression that caused it.</summary>
    public void Shape(SyntaxNode node, Exception error) =>
        Add(ModelDiagnostics.GraphShapeError, node.GetLocation(), ReaderDiagnostic.GraphNotBuilt, null, null, ReaderText.Of(node), error.Message);
}

/// <summary>Code snippets for messages: one line, collapsed whitespace, at most 80 characters.</summary>
internal static class ReaderText
{
    private const int MaxLength = 80;

    public static string Of(SyntaxNode node)
    {
        var text = node.ToString();
        var sb = new System.Text.StringBuilder(Math.Min(text.Length, MaxLength + 1));
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                space = sb.Length > 0;
                continue;
            }

            if (space)
            {
                sb.Append(' ');
                space = false;
            }

            sb.Append(c);
            if (sb.Length > MaxLength)
            {
                break;
            }
        }

        return sb.Length > MaxLength ? sb.ToString(0, MaxLength - 3) + "..." : sb.ToString();
    }
}
