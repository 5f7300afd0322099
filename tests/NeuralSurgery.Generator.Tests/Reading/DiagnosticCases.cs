namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>Model sources for diagnostic tests: the class starts on line 6, its first member on line 10.</summary>
internal static class DiagnosticCases
{
    public const string X4 = """
        model: M
        version: 1
        inputs:
          x:
            features: [a, b, c, d]
        outputs:
          y:
            features: [p, q]
        """;

    public static string Model(string members, string signature = "Module<Tensor, Tensor>") => $$"""
        public sealed class M : {{signature}}
        {
            public M() : base("M") => RegisterComponents();

        {{members}}
        }
        """;
}
