namespace NeuralSurgery.Runtime.Checkpoints;

/// <summary>Progress of a long checkpoint operation, reported after each tensor (for progress bars).</summary>
/// <param name="TensorsDone">Tensors finished so far.</param>
/// <param name="TensorCount">Tensors in all.</param>
/// <param name="TensorName">The tensor just finished.</param>
/// <param name="BytesDone">Data bytes finished so far.</param>
/// <param name="BytesTotal">Data bytes in all.</param>
public readonly record struct CheckpointProgress(int TensorsDone, int TensorCount, string TensorName, long BytesDone, long BytesTotal);
