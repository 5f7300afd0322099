namespace NeuralSurgery.Generator.CodeFixes;

/// <summary>
/// The property keys the model reader puts on the diagnostics these fixes handle (set in
/// Reading/ForwardInterpreter.Calls.cs, documented on docs/diagnostics/NS1004.md and NS1006.md). A fix whose
/// properties are missing is not offered: the reader found no mechanical fix for that case.
/// </summary>
internal static class DiagnosticPropertyNames
{
    /// <summary>NS1006: the layer's factory argument that holds its input size (<c>inputSize</c>, <c>in_channels</c>, …).</summary>
    public const string Argument = "Argument";

    /// <summary>NS1006: the size the layer's input has.</summary>
    public const string Size = "Size";

    /// <summary>NS1004 and NS1006: the input size the layer declares.</summary>
    public const string Expected = "Expected";

    /// <summary>NS1006: the dense schema input the layer reads directly.</summary>
    public const string SchemaInput = "SchemaInput";

    /// <summary>NS1004: the forward parameter that has no schema input.</summary>
    public const string Input = "Input";

    /// <summary>NS1004 and NS1006: the schema file the reader read (FeatureSchema.Path).</summary>
    public const string SchemaPath = "SchemaPath";
}
