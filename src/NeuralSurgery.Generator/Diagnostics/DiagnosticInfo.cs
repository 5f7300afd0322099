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

        return Diagnostic.Create(GeneratorDiagnostics.Find(Id), Location.ToLocation(), args);
    }
}
