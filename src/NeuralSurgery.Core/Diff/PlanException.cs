using System;

namespace NeuralSurgery.Diff;

/// <summary>A diff that cannot be made as asked: the message names the rename, unit map or tensor and what was expected.</summary>
public sealed class PlanException : Exception
{
    public PlanException(string message)
        : base(message)
    {
    }

    public PlanException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public PlanException()
    {
    }
}
