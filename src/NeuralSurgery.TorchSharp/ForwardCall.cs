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
    /// <summary>
    /// Calls the module's forward with the graph's inputs: the forward whose tensor parameters are the inputs, by name
    /// (positionally when the names differ), and whose other parameters have defaults, which it is called with (the
    /// reader read forward the same way).
    /// </summary>
    public static IReadOnlyList<Tensor> Invoke(nn.Module module, IReadOnlyList<string> names, IReadOnlyList<Tensor> inputs)
    {
        var type = module.GetType();
        var candidates = type.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.Name == "forward" && !m.IsAbstract).ToList();
        object?[]? arguments = null;
        MethodInfo? method = null;
        foreach (var m in candidates)
        {
            arguments = Arguments(m.GetParameters(), names, inputs);
            if (arguments is not null)
            {
                method = m;
                break;
            }
        }

        if (method is null)
        {
            throw new ArgumentException(
                $"'{type.Name}' has no forward({string.Join(", ", Enumerable.Repeat("Tensor", inputs.Count))}): its graph has {inputs.Count} input(s) ({string.Join(", ", names)})",
                nameof(module));
        }

        object? result;
        try
        {
            result = method.Invoke(module, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw new InvalidOperationException($"{type.Name}.forward threw: {e.InnerException.Message}", e.InnerException);
        }

        return Results(type, result);
    }

    private static object?[]? Arguments(ParameterInfo[] parameters, IReadOnlyList<string> names, IReadOnlyList<Tensor> inputs)
    {
        if (parameters.Length == inputs.Count && parameters.All(p => p.ParameterType == typeof(Tensor)))
        {
            return inputs.Cast<object?>().ToArray(); // positional, as the graph's inputs are forward's parameters in order
        }

        var arguments = new object?[parameters.Length];
        var used = 0;
        for (var i = 0; i < parameters.Length; i++)
        {
            var index = IndexOf(names, parameters[i].Name);
            if (index >= 0 && parameters[i].ParameterType == typeof(Tensor))
            {
                arguments[i] = inputs[index];
                used++;
            }
            else if (parameters[i].HasDefaultValue)
            {
                arguments[i] = parameters[i].DefaultValue;
            }
            else
            {
                return null;
            }
        }

        return used == inputs.Count ? arguments : null;
    }

    private static int IndexOf(IReadOnlyList<string> names, string? name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }

        return -1;
    }

    private static IReadOnlyList<Tensor> Results(Type type, object? result)
    {
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
