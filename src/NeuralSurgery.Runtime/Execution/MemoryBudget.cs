using System;

namespace NeuralSurgery.Runtime.Execution;

/// <summary>
/// What work held wholly in memory (training data, a verification's random states and activations) may take:
/// half of what this process may use (its GC heap limit, else the container's or the machine's memory), the other
/// half for the models, gradients and the runtime. Checked before allocating, so that work too large for the
/// machine is refused with the option or file to change rather than ending in OutOfMemory.
/// </summary>
public static class MemoryBudget
{
    public static long Bytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;
}
