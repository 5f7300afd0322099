using System.Collections.Generic;
using System.Globalization;
using NeuralSurgery.Generator.Specs;

namespace NeuralSurgery.Generator.Emit;

/// <summary>
/// Emits <c>Model.Features</c>: for each schema input a static class with its <c>Width</c> and, per feature, the
/// feature's first slot (<c>Features.Hero.MaxHealth</c>) and <c>&lt;Feature&gt;Width</c>; for a categorical input,
/// the index of each value (the embedding row).
/// </summary>
internal static class FeatureConstantsEmitter
{
    public static GeneratedSource Emit(FeatureConstantsSpec spec)
    {
        var type = spec.Type;
        var features = spec.Features;
        var writer = new SourceWriter();
        writer.Line(SourceWriter.Header.TrimEnd('\n'));
        writer.Line();

        var inNamespace = type.Namespace.Length > 0;
        if (inNamespace)
        {
            writer.Open("namespace " + type.Namespace);
        }

        foreach (var declaration in type.Declarations)
        {
            writer.Open(declaration);
        }

        writer.Line("/// <summary>Slot indices of the inputs declared in " + Xml(features.FileName) + " (model " + Xml(features.Model) + ", version " + Int(features.Version) + ").</summary>");
        writer.Open("public static class Features");

        var inputNames = new HashSet<string>(System.StringComparer.Ordinal) { "Features" };
        var first = true;
        foreach (var input in features.Inputs)
        {
            if (!first)
            {
                writer.Line();
            }

            first = false;
            var className = Identifiers.Unique(input.Name, inputNames);
            var members = new HashSet<string>(System.StringComparer.Ordinal) { className, "Width" };
            writer.Line("/// <summary>Input '" + Xml(input.Name) + "'" + (input.IsCategorical ? " (categorical: value indices)" : string.Empty) + ".</summary>");
            writer.Open("public static class " + className);
            writer.Line("/// <summary>The size of the feature axis.</summary>");
            writer.Line("public const int Width = " + Int(input.Width) + ";");
            if (input.IsCategorical)
            {
                for (var i = 0; i < input.Values.Count; i++)
                {
                    writer.Line();
                    writer.Line("/// <summary>Value '" + Xml(input.Values[i]) + "'.</summary>");
                    writer.Line("public const int " + Identifiers.Unique(input.Values[i], members) + " = " + Int(i) + ";");
                }
            }
            else
            {
                foreach (var feature in input.Features)
                {
                    var name = Identifiers.Unique(feature.Name, members);
                    var widthName = Identifiers.Unique(name + "Width", members);
                    writer.Line();
                    writer.Line("/// <summary>First slot of feature '" + Xml(feature.Name) + "'.</summary>");
                    writer.Line("public const int " + name + " = " + Int(feature.Offset) + ";");
                    writer.Line("/// <summary>Slots of feature '" + Xml(feature.Name) + "'.</summary>");
                    writer.Line("public const int " + widthName + " = " + Int(feature.Width) + ";");
                }
            }

            writer.Close();
        }

        writer.Close();
        foreach (var _ in type.Declarations)
        {
            writer.Close();
        }

        if (inNamespace)
        {
            writer.Close();
        }

        return new GeneratedSource(type.FullName + ".Features.g.cs", writer.ToString());
    }

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
