using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using NeuralSurgery.Plan;
using NeuralSurgery.Runtime.Execution;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NeuralSurgery.TorchSharp;

/// <summary>
/// Optimizer state carried across a surgery: each per-parameter state tensor of the old optimizer (Adam's and AdamW's
/// moments, SGD's momentum buffer, any optimizer's tensors shaped like its parameter) follows the parameter's index
/// maps into the new optimizer's state, new elements start at zero, and per-parameter counters (Adam's step) are
/// copied for parameters that have a source. Training resumes where it stopped instead of restarting the moments of
/// weights that trained for weeks.
/// </summary>
public static class OptimizerCarry
{
    /// <summary>
    /// Carries the state of <paramref name="oldOptimizer"/> (over <paramref name="oldModule"/>'s parameters) into
    /// <paramref name="newOptimizer"/> (over <paramref name="newModule"/>'s), which must be of the same kind. Returns
    /// the number of state tensors carried. Parameters the plan makes without a source keep the new optimizer's
    /// fresh state.
    /// </summary>
    public static int Carry(SurgeryPlan plan, nn.Module oldModule, OptimizerHelper oldOptimizer, nn.Module newModule, OptimizerHelper newOptimizer)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(oldModule);
        ArgumentNullException.ThrowIfNull(oldOptimizer);
        ArgumentNullException.ThrowIfNull(newModule);
        ArgumentNullException.ThrowIfNull(newOptimizer);
        if (ReferenceEquals(oldOptimizer, newOptimizer) || ReferenceEquals(oldModule, newModule))
        {
            throw new ArgumentException("the old and the new optimizer (and module) must be different objects: create the new optimizer over the new module's parameters", nameof(newOptimizer));
        }

        if (oldOptimizer.GetType() != newOptimizer.GetType())
        {
            throw new ArgumentException($"the old optimizer is {oldOptimizer.GetType().Name} and the new one {newOptimizer.GetType().Name}: state carries between optimizers of one kind", nameof(newOptimizer));
        }

        var oldStates = StatesByParameter(oldModule, oldOptimizer, "old");
        var newStates = StatesByParameter(newModule, newOptimizer, "new");
        var problems = new List<string>();
        foreach (var t in plan.Tensors.Where(t => !t.IsBuffer && t.Source is not null))
        {
            if (!newStates.ContainsKey(t.Name))
            {
                problems.Add($"'{t.Name}' of the new module is not optimized by the new optimizer");
            }
            else if (!oldStates.ContainsKey(t.Source!))
            {
                problems.Add($"'{t.Source}' of the old module is not optimized by the old optimizer");
            }
        }

        if (problems.Count > 0)
        {
            throw new PlanApplicationException("optimizer state", problems);
        }

        var carried = 0;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var t in plan.Tensors.Where(t => !t.IsBuffer && t.Source is not null))
        {
            var (oldParameter, oldState) = oldStates[t.Source!];
            var (newParameter, newState) = newStates[t.Name];
            foreach (var field in oldState.GetType().GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                var value = field.GetValue(oldState);
                if (value is Tensor old && old.shape.SequenceEqual(oldParameter.shape))
                {
                    // A moment or buffer of the parameter: remapped like the parameter, zero where the plan initialises.
                    var (gathered, mask) = LiveSurgery.Gather(t, old, newParameter.device, old.dtype);
                    var moved = mask is null ? gathered : torch.where(mask, gathered, torch.zeros_like(gathered));
                    if (field.GetValue(newState) is Tensor existing && existing.shape.SequenceEqual(newParameter.shape))
                    {
                        existing.copy_(moved);
                    }
                    else
                    {
                        field.SetValue(newState, moved.clone().MoveToOuterDisposeScope()); // created lazily by the old one (SGD momentum)
                    }

                    carried++;
                }
                else if (value is long or int or double or float or bool)
                {
                    field.SetValue(newState, value); // per-parameter counters: Adam's step, for its bias correction
                }
                else if (value is Tensor scalar && scalar.NumberOfElements == 1 && field.GetValue(newState) is Tensor target && target.NumberOfElements == 1)
                {
                    target.copy_(scalar); // a counter kept as a tensor
                }
            }
        }

        return carried;
    }

    /// <summary>State_dict name → (parameter, its live optimizer state), pairing parameters with states by position.</summary>
    private static Dictionary<string, (Tensor Parameter, OptimizerState State)> StatesByParameter(nn.Module module, OptimizerHelper optimizer, string which)
    {
        var states = optimizer.state_dict().State;
        var parameters = optimizer.parameters().ToList();
        if (states.Count != parameters.Count)
        {
            throw new ArgumentException($"the {which} optimizer holds {states.Count} states for {parameters.Count} parameters");
        }

        var byHandle = new Dictionary<IntPtr, int>();
        for (var i = 0; i < parameters.Count; i++)
        {
            byHandle[parameters[i].Handle] = i;
        }

        var result = new Dictionary<string, (Tensor, OptimizerState)>(StringComparer.Ordinal);
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (byHandle.TryGetValue(parameter.Handle, out var i))
            {
                result[name] = (parameter, states[i]);
            }
        }

        return result;
    }
}
