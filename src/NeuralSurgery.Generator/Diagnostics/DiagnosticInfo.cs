using Microsoft.CodeAnalysis;
using NeuralSurgery.Collections;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator.Diagnostics;

/// <summary>A diagnostic as plain, equatable data (id, location, message arguments), so it can flow through the pipeline.</summary>
/// <param name="Id">The NS id.</param>
/// <param name="Location">Where it is reported.</param>
/// <param name="MessageArgs">Its message arguments.</param>
/// <param name="AdditionalLocations">Further locations (a code fix's target), none by default.</param>
/// <param name="Properties">Values carried to code fixes, none by default.</param>
public sealed record DiagnosticInfo(string Id, ReaderLocation Location, EquatableArray<string> MessageArgs, EquatableArray<ReaderLocation> AdditionalLocations = default, EquatableArray<DiagnosticProperty> Properties = default)
{
    public Diagnostic ToDiagnostic()
    {
        var args = new object[MessageArgs.Count];
        for (var i = 0; i < args.Length; i++)
        {
            args[i] = MessageArgs[i];
        }

        if (AdditionalLocations.IsEmpty && Properties.IsEmpty)
        {
            return Diagnostic.Create(Descriptor(Id), Location.ToLocation(), args);
        }

        var properties = System.Collections.Immutable.ImmutableDictionary.CreateRange(
            System.Linq.Enumerable.Select(Properties, p => new System.Collections.Generic.KeyValuePair<string, string?>(p.Key, p.Value)));
        return Diagnostic.Create(Descriptor(Id), Location.ToLocation(), System.Linq.Enumerable.Select(AdditionalLocations, l => l.ToLocation()), properties, args);
    }

    /// <summary>The descriptor of any NeuralSurgery id: NS0xxx from the generator's table, NS1xxx and NS2xxx from their catalogues.</summary>
    internal static DiagnosticDescriptor Descriptor(string id) =>
        id.StartsWith("NS1", System.StringComparison.Ordinal) ? ModelDiagnostics.Find(id)
        : id.StartsWith("NS2", System.StringComparison.Ordinal) ? SurgeryDiagnostics.Find(id)
        : GeneratorDiagnostics.Find(id);
}
