namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>Where a tensor's data lies: file <paramref name="File"/> of the reader, from byte <paramref name="Offset"/>.</summary>
internal readonly record struct TensorLocation(TensorInfo Info, int File, long Offset);
