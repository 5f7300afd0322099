using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp;

/// <summary>
/// Calls a model's own <c>forward</c> with one tensor per graph input, in the order of forward's parameters, and
/// returns its result as a list of tensors (one, or the items of a returned tuple, in order: the graph's outputs).
/// A model is a <c>Module&lt;T1, …, Tn, TResult&gt;</c> of any arity, so the call is bound by its parameter list.
/// </summary>
internal static class ForwardCall
{
    public static IReadOnlyList<Tensor> Invoke(nn.Module module, IReadOnlyList<Tensor> inputs)
    {
        var type = module.GetType();
        var method = type.GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.Name == "forward" && !m.IsAbstract)
            .FirstOrDefault(m => m.GetParameters() is { } ps && ps.Length == inputs.Count && ps.All(p => p.ParameterType == typeof(Tensor)))
            ?? throw new ArgumentException(
                $"'{type.Name}' has no forward({string.Join(", ", Enumerable.Repeat("Tensor", inputs.Count))}): its graph has {inputs.Count} input(s)",
                nameof(module));
        object? result;
        try
        {
            result = method.Invoke(module, inputs.Cast<object>().ToArray());
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw new InvalidOperationException($"{type.Name}.forward threw: {e.InnerException.Message}", e.InnerException);
        }

        return result switch
        {
            Tensor t => [t],
            ITuple tuple => Enumerable.Range(0, tuple.Length)
                .Select(i => tuple[i] as Tensor ?? throw new InvalidOperationException($"{type.Name}.forward returned a tuple whose item {i + 1} is not a tensor"))
                .ToList(),
            _ => throw new InvalidOperationException($"{type.Name}.forward returned {result?.GetType().Name ?? "null"}, not a tensor or a tuple of tensors"),
        };
    }
}
