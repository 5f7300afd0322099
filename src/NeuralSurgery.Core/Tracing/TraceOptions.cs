using System;
using System.Collections.Generic;

namespace NeuralSurgery.Tracing;

/// <summary>
/// Concrete sizes for symbolic dimensions (batch, set sizes, sequence lengths) while tracing. Feature sets do
/// not depend on these sizes along uniform axes, but a recurrence needs two steps before its hidden-to-hidden
/// weights see features, so the default is 2.
/// </summary>
public sealed class TraceOptions
{
    public static TraceOptions Default { get; } = new();

    public long DefaultSymbolSize { get; init; } = 2;

    public IReadOnlyDictionary<string, long> SymbolSizes { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);

    public long SizeOf(string symbol) => SymbolSizes.TryGetValue(symbol, out var size) ? size : DefaultSymbolSize;
}
