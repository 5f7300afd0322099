using System;
using System.Collections.Generic;
using System.Linq;
using NeuralSurgery.Graph;

namespace NeuralSurgery.Runtime.Reference;

/// <summary>
/// Binds the graph's symbolic dimensions from the shapes of the inputs of one call: plain symbols (B, N) first,
/// then linear forms (2·N + 4) are checked, or solved when they hold the only unbound symbol. Every mismatch names
/// the input, its shape and the declared one.
/// </summary>
internal static class SymbolBinder
{
    public static Dictionary<string, long> Bind(ModelGraph graph, IReadOnlyDictionary<string, Tensor> inputs)
    {
        foreach (var name in inputs.Keys)
        {
            if (graph.FindInput(name) is null)
            {
                throw new ReferenceExecutionException($"input '{name}' is not an input of graph '{graph.Name}'; expected one of {string.Join(", ", graph.Inputs.Select(i => i.Name))}");
            }
        }

        var symbols = new Dictionary<string, long>(StringComparer.Ordinal);
        var from = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            if (!inputs.TryGetValue(input.Name, out var t) || t is null)
            {
                throw new ReferenceExecutionException($"input '{input.Name}' is missing; expected a tensor of shape {input.Shape}");
            }

            if (t.Rank != input.Shape.Rank)
            {
                throw new ReferenceExecutionException($"input '{input.Name}' has shape {t.ShapeString}; expected {input.Shape} (rank {input.Shape.Rank})");
            }

            for (var a = 0; a < t.Rank; a++)
            {
                var d = input.Shape[a];
                if (d.IsConstant && d.Constant != t.Dim(a))
                {
                    throw new ReferenceExecutionException($"input '{input.Name}' has shape {t.ShapeString}; expected {input.Shape} (axis {a} must be {d.Constant})");
                }

                if (d.IsPlainSymbol)
                {
                    var symbol = d.Terms[0].Symbol;
                    if (symbols.TryGetValue(symbol, out var bound) && bound != t.Dim(a))
                    {
                        throw new ReferenceExecutionException($"input '{input.Name}' has shape {t.ShapeString}; expected {input.Shape} with {symbol} = {bound} as input '{from[symbol]}' binds it (axis {a} is {t.Dim(a)})");
                    }

                    if (t.Dim(a) < 1)
                    {
                        throw new ReferenceExecutionException($"input '{input.Name}' has shape {t.ShapeString}; expected {input.Shape} with {symbol} >= 1");
                    }

                    symbols[symbol] = t.Dim(a);
                    from[symbol] = input.Name;
                }
            }
        }

        foreach (var input in graph.Inputs)
        {
            var t = inputs[input.Name];
            for (var a = 0; a < t.Rank; a++)
            {
                var d = input.Shape[a];
                if (d.IsConstant || d.IsPlainSymbol)
                {
                    continue;
                }

                var unbound = d.Terms.Where(term => !symbols.ContainsKey(term.Symbol)).ToList();
                var known = d.Constant + d.Terms.Where(term => symbols.ContainsKey(term.Symbol)).Sum(term => term.Coefficient * symbols[term.Symbol]);
                if (unbound.Count == 1 && (t.Dim(a) - known) % unbound[0].Coefficient == 0 && (t.Dim(a) - known) / unbound[0].Coefficient >= 1)
                {
                    symbols[unbound[0].Symbol] = (t.Dim(a) - known) / unbound[0].Coefficient;
                    from[unbound[0].Symbol] = input.Name;
                }
                else if (unbound.Count > 0 || known != t.Dim(a))
                {
                    throw new ReferenceExecutionException($"input '{input.Name}' has shape {t.ShapeString}; expected {input.Shape} (axis {a} is {t.Dim(a)}, which {d} cannot be with {Describe(symbols)})");
                }
            }
        }

        return symbols;
    }

    private static string Describe(Dictionary<string, long> symbols) =>
        symbols.Count == 0 ? "no bound symbols" : string.Join(", ", symbols.Select(kv => $"{kv.Key} = {kv.Value}"));
}
