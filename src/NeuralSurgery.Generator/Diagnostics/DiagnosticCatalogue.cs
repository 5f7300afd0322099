using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace NeuralSurgery.Generator.Diagnostics;

/// <summary>What the NS1xxx and NS2xxx catalogues share: how a descriptor is made and how one is found by id.</summary>
internal static class DiagnosticCatalogue
{
    /// <summary>A descriptor, enabled by default, with its help link to docs/diagnostics/ID.md.</summary>
    public static DiagnosticDescriptor Create(string id, string title, string messageFormat, string category, DiagnosticSeverity severity) =>
        new(
            id,
            title,
            messageFormat,
            category,
            severity,
            isEnabledByDefault: true,
            helpLinkUri: string.Format(System.Globalization.CultureInfo.InvariantCulture, Reading.ModelDiagnostics.HelpLinkFormat, id));

    /// <summary>The descriptors by id; a repeated id is a bug in the catalogue and throws.</summary>
    public static Dictionary<string, DiagnosticDescriptor> Index(IEnumerable<DiagnosticDescriptor> descriptors)
    {
        var index = new Dictionary<string, DiagnosticDescriptor>(System.StringComparer.Ordinal);
        foreach (var d in descriptors)
        {
            index.Add(d.Id, d);
        }

        return index;
    }

    /// <summary>The descriptor with this id; throws naming the catalogue for an unknown id.</summary>
    public static DiagnosticDescriptor Find(Dictionary<string, DiagnosticDescriptor> index, string id, string catalogue) =>
        index.TryGetValue(id, out var d) ? d : throw new KeyNotFoundException("no " + catalogue + " rule has id '" + id + "'");
}
