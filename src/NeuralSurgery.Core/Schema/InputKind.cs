namespace NeuralSurgery.Schema;

/// <summary>How a schema input enters the model.</summary>
public enum InputKind
{
    /// <summary>A float tensor whose last axis holds the declared features, in order.</summary>
    Dense,

    /// <summary>An index tensor feeding an embedding; the vocabulary gives the embedding rows.</summary>
    Categorical,
}
