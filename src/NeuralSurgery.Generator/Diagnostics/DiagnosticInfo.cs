using Microsoft.CodeAnalysis;
using NeuralSurgery.Collections;
using NeuralSurgery.Generator.Reading;

namespace NeuralSurgery.Generator.Diagnostics;

/// <summary>A diagnostic as plain, equatable data (id, location, message arguments), so it can flow through the pipeline.</summary>
public sealed record DiagnosticInfo(string Id, ReaderLocation Location, EquatableArray<string> MessageArgs)
{
    public Diagnostic ToDiagnostic()
    {
        var args = new object[MessageArgs.Count];
        for (var i = 0; i < args.Length; i++)
        {
            args[i] = MessageArgs[i];
        }

        return Diagnostic.Create(Descriptor(Id), Location.ToLocation(), args);
    }

    /// <summary>The descriptor of any NeuralSurgery id: NS0xxx from the generator's table, NS1xxx and NS2xxx from their catalogues.</summary>
    internal static DiagnosticDescriptor Descriptor(string id) =>
        id.StartsWith("NS1", System.StringComparison.Ordinal) ? ModelDiagnostics.Find(id)
        : id.StartsWith("NS2", System.StringComparison.Ordinal) ? SurgeryDiagnostics.Find(id)
        : GeneratorDiagnostics.Find(id);
}
