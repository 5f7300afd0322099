namespace NeuralSurgery.Schema;

/// <summary>
/// A rename the differ reads: something once called <paramref name="From"/> is now called <paramref name="To"/>.
/// Either side is a plain name (<c>hp</c>) or qualified by an input or output name (<c>hero.hp</c>).
/// </summary>
/// <param name="From">The old name.</param>
/// <param name="To">The new name; it names an input, output, feature or categorical value of this schema.</param>
/// <param name="Location">The span from the old name to the end of the new name in the YAML file.</param>
public sealed record SchemaRename(string From, string To, SourceLocation Location);
