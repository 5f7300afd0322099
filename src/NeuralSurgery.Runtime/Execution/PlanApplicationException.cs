using System;
using System.Collections.Generic;

namespace NeuralSurgery.Runtime.Execution;

/// <summary>
/// A plan that cannot be applied to a checkpoint: every problem found before writing, each naming the tensor and
/// what was expected. Nothing has been written when it is thrown.
/// </summary>
public sealed class PlanApplicationException : Exception
{
    public PlanApplicationException(string source, IReadOnlyList<string> problems)
        : base($"{source}: the plan cannot be applied: {string.Join("; ", problems)}")
    {
        Problems = problems;
    }

    public PlanApplicationException()
    {
        Problems = [];
    }

    public PlanApplicationException(string message)
        : base(message)
    {
        Problems = [message];
    }

    public PlanApplicationException(string message, Exception inner)
        : base(message, inner)
    {
        Problems = [message];
    }

    public IReadOnlyList<string> Problems { get; }
}
