namespace NeuralSurgery.Generator.Emit;

/// <summary>The attributes users write, added to every compilation as post-initialization source.</summary>
internal static class AttributeSource
{
    public const string HintName = "NeuralSurgery.Attributes.g.cs";

    public const string SurgeryModelAttributeMetadataName = "NeuralSurgery.SurgeryModelAttribute";

    public const string SurgeryFromAttributeFullName = "NeuralSurgery.SurgeryFromAttribute";

    public const string SurgeryRenameAttributeFullName = "NeuralSurgery.SurgeryRenameAttribute";

    public const string Text = SourceWriter.Header + @"
namespace NeuralSurgery
{
    /// <summary>
    /// Marks a TorchSharp model class described by a feature schema (a <c>*.features.yaml</c> AdditionalFiles item).
    /// The class must be partial: the generator adds its <c>Features</c> constants to it.
    /// </summary>
    [global::System.AttributeUsage(global::System.AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
    [global::System.Diagnostics.Conditional(""NEURALSURGERY_KEEP_ATTRIBUTES"")]
    internal sealed class SurgeryModelAttribute : global::System.Attribute
    {
        /// <param name=""schemaPath"">The schema file, matched against the end of the AdditionalFiles paths.</param>
        public SurgeryModelAttribute(string schemaPath)
        {
            SchemaPath = schemaPath;
        }

        /// <summary>The schema file, as written.</summary>
        public string SchemaPath { get; }
    }

    /// <summary>Declares that this model evolves from an earlier surgery model: the generator emits the surgery map from it.</summary>
    [global::System.AttributeUsage(global::System.AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    [global::System.Diagnostics.Conditional(""NEURALSURGERY_KEEP_ATTRIBUTES"")]
    internal sealed class SurgeryFromAttribute : global::System.Attribute
    {
        /// <param name=""source"">The earlier model class, itself marked with <see cref=""SurgeryModelAttribute""/>.</param>
        public SurgeryFromAttribute(global::System.Type source)
        {
            Source = source;
        }

        /// <summary>The earlier model class.</summary>
        public global::System.Type Source { get; }
    }

    /// <summary>Says that a module of the earlier model is called differently in this one (state_dict prefixes).</summary>
    [global::System.AttributeUsage(global::System.AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
    [global::System.Diagnostics.Conditional(""NEURALSURGERY_KEEP_ATTRIBUTES"")]
    internal sealed class SurgeryRenameAttribute : global::System.Attribute
    {
        /// <param name=""oldModule"">The module path in the earlier model, as its state_dict names it (e.g. <c>encoder.fc1</c>).</param>
        /// <param name=""newModule"">The module path in this model.</param>
        public SurgeryRenameAttribute(string oldModule, string newModule)
        {
            OldModule = oldModule;
            NewModule = newModule;
        }

        /// <summary>The module path in the earlier model.</summary>
        public string OldModule { get; }

        /// <summary>The module path in this model.</summary>
        public string NewModule { get; }
    }
}
";
}
