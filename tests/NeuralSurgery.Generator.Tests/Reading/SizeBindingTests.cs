using System.Linq;

namespace NeuralSurgery.Generator.Tests.Reading;

/// <summary>
/// Sizes that are not literals: the model constructor's default parameter values, the schema's <c>arguments:</c>
/// block (plain values and config objects), static fields and properties with constant initialisers, config objects
/// built inline; and the diagnostics when none of them binds a size (NS1003, NS1017, NS1018).
/// </summary>
public class SizeBindingTests
{
    private const string NotConstant = ", which is not a compile-time constant; ";

    // An MNIST-style MLP whose sizes are the constructor's defaults; 'name' and 'unused' bind nothing and are never sizes.
    private const string Mlp = """
        public sealed class Net : Module<Tensor, Tensor>
        {
            private readonly Linear fc1;
            private readonly Dropout drop;
            private readonly Linear fc2;

            public Net(string name, object unused, int inputSize = 784, int hidden = 128, long classes = 10, double dropout = 0.2) : base(name)
            {
                fc1 = Linear(inputSize, hidden);
                drop = Dropout(dropout);
                fc2 = Linear(hidden, classes);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => fc2.forward(drop.forward(functional.relu(fc1.forward(x))));
        }
        """;

    private static string MnistSchema(params string[] arguments) => string.Join("\n", new[]
    {
        "model: Net",
        "version: 1",
        "inputs:",
        "  x:",
        "    features: [{ name: pixel, width: 784 }]",
        "outputs:",
        "  logits:",
        "    features: [{ name: digit, width: 10 }]",
    }.Concat(arguments)) + "\n";

    [Fact]
    public void Default_parameter_values_of_the_model_constructor_bind_its_sizes()
    {
        var graph = ModelSource.Graph(ModelSource.Read(Mlp, "Net", MnistSchema()));

        Assert.Equal(new[] { "fc1.weight [128, 784]", "fc1.bias [128]", "fc2.weight [10, 128]", "fc2.bias [10]" }, ModelSource.StateDict(graph));
        Assert.Contains("dropout 0.2", graph.Nodes.Select(n => ModelSource.Describe(n.Op)));
    }

    [Fact]
    public void Schema_arguments_take_precedence_over_defaults()
    {
        var graph = ModelSource.Graph(ModelSource.Read(Mlp, "Net", MnistSchema("arguments:", "  hidden: 256", "  dropout: 0.5", "  name: mnist")));

        Assert.Equal(new[] { "fc1.weight [256, 784]", "fc1.bias [256]", "fc2.weight [10, 256]", "fc2.bias [10]" }, ModelSource.StateDict(graph));
        Assert.Contains("dropout 0.5", graph.Nodes.Select(n => ModelSource.Describe(n.Op)));
    }

    [Fact]
    public void An_unbound_constructor_parameter_used_as_a_size_says_how_to_bind_it()
    {
        var r = ModelSource.Read(Mlp.Replace("object unused, int inputSize = 784, int hidden = 128", "object unused, int hidden, int inputSize = 784", System.StringComparison.Ordinal), "Net", MnistSchema());

        Assert.Null(r.Graph);
        const string How = "it is parameter 'hidden' of the Net constructor, which nothing binds: give the parameter a default value, bind it with 'arguments: { hidden: ... }' in model.features.yaml, or use a constant";
        Assert.Equal(
            new[]
            {
                "NS1003 (14,33): Argument 'outputSize' of 'Linear' is 'hidden'" + NotConstant + How,
                "NS1003 (16,22): Argument 'inputSize' of 'Linear' is 'hidden'" + NotConstant + How,
            },
            ModelSource.Diagnostics(r));
    }

    [Fact]
    public void Without_a_schema_the_message_says_a_schema_could_bind_it()
    {
        var r = ModelSource.Read(
            """
            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Linear fc;

                public M(long outputs) : base("M")
                {
                    fc = Linear(4, outputs);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """,
            "M",
            (string?)null);

        Assert.Contains(
            "NS1003 (12,24): Argument 'outputSize' of 'Linear' is 'outputs'" + NotConstant
                + "it is parameter 'outputs' of the M constructor, which nothing binds: give the parameter a default value, bind it with 'arguments: { outputs: ... }' in the feature schema (none was given), or use a constant",
            ModelSource.Diagnostics(r));
    }

    [Fact]
    public void An_argument_that_names_no_parameter_is_NS1017_at_its_line_in_the_schema()
    {
        var r = ModelSource.Read(Mlp, "Net", MnistSchema("arguments:", "  hiden: 256"));

        Assert.Null(r.Graph);
        Assert.Equal(
            new[] { "NS1017 (10,3): Argument 'hiden' in model.features.yaml names no parameter of the Net constructor; expected one of: name, unused, inputSize, hidden, classes, dropout" },
            ModelSource.Diagnostics(r));
        Assert.Equal("model.features.yaml", r.Diagnostics[0].Location.FilePath);
    }

    [Fact]
    public void A_value_of_the_wrong_type_is_NS1018_at_the_value_and_its_uses_say_nothing_more()
    {
        var r = ModelSource.Read(Mlp, "Net", MnistSchema("arguments:", "  hidden: wide", "  classes: 1.5", "  inputSize: 3000000000", "  dropout: [1, 2]"));

        Assert.Null(r.Graph);
        Assert.Equal(
            new[]
            {
                "NS1018 (10,11): Argument 'hidden' in model.features.yaml is the string 'wide', but parameter 'hidden' of the Net constructor is of type 'int'; expected an unquoted integer from -2147483648 to 2147483647",
                "NS1018 (11,12): Argument 'classes' in model.features.yaml is the number 1.5, but parameter 'classes' of the Net constructor is of type 'long'; expected an unquoted integer from -9223372036854775808 to 9223372036854775807",
                "NS1018 (12,14): Argument 'inputSize' in model.features.yaml is the integer 3000000000, but parameter 'inputSize' of the Net constructor is of type 'int'; expected an unquoted integer from -2147483648 to 2147483647",
                "NS1018 (13,12): Argument 'dropout' in model.features.yaml is the list [1, 2], but parameter 'dropout' of the Net constructor is of type 'double'; expected an unquoted number",
            },
            ModelSource.Diagnostics(r).OrderBy(d => d, System.StringComparer.Ordinal).ToArray());
    }

    // ---- static fields and properties ------------------------------------------------------------------------

    private const string X4 = """
        model: M
        version: 1
        inputs:
          x:
            features: [a, b, c, d]
        outputs:
          y:
            features: [p, q]
        """;

    [Fact]
    public void Static_fields_and_properties_with_constant_initialisers_are_sizes()
    {
        var graph = ModelSource.Graph(ModelSource.Read(
            """
            public sealed class M : Module<Tensor, Tensor>
            {
                private static int _numClasses = 2;
                private static readonly long Inputs = 4;
                private static int Hidden { get; } = 8;
                private static int Wide => Hidden * 2;
                private int Narrow => Wide / 4;

                private readonly Linear fc1 = Linear(Inputs, Wide);
                private readonly Linear fc2 = Linear(Wide, _numClasses);

                public M() : base("M") => RegisterComponents();

                public override Tensor forward(Tensor x) => fc2.forward(fc1.forward(x).view(-1, Narrow, Hidden / 2).flatten(1));
            }
            """,
            "M",
            X4));

        Assert.Equal(new[] { "fc1.weight [16, 4]", "fc1.bias [16]", "fc2.weight [2, 16]", "fc2.bias [2]" }, ModelSource.StateDict(graph));
        Assert.Contains("reshape [-1, 4, 4]", graph.Nodes.Select(n => ModelSource.Describe(n.Op)));
    }

    [Fact]
    public void A_static_field_assigned_outside_its_initialiser_is_not_a_constant_and_the_message_says_where()
    {
        var r = ModelSource.Read(
            """
            public sealed class M : Module<Tensor, Tensor>
            {
                private static int _numClasses = 2;
                private readonly Linear fc = Linear(4, _numClasses);

                public M() : base("M") => RegisterComponents();

                public static void UseBinary(bool binary) => _numClasses = binary ? 2 : 3;

                public override Tensor forward(Tensor x) => fc.forward(x);
            }
            """,
            "M",
            X4);

        Assert.Null(r.Graph);
        Assert.Equal(
            new[]
            {
                "NS1003 (9,44): Argument 'outputSize' of 'Linear' is '_numClasses'" + NotConstant
                    + "static field 'M._numClasses' is assigned outside its initialiser (Model.cs, line 13), so its value when the model is built is unknown: make it const or readonly, or assign it only in its initialiser",
            },
            ModelSource.Diagnostics(r));
    }

    // ---- config objects -------------------------------------------------------------------------------------

    private const string GptConfig = """
        public sealed record GptConfig(int VocabSize = 50257, int BlockSize = 1024)
        {
            public int n_embd { get; init; } = 768;
            public int n_head { get; init; } = 12;
            public double dropout = 0.1;
            public int HeadSize => n_embd / n_head;
        }

        """;

    private const string Gpt = """
        public sealed class Block : Module<Tensor, Tensor>
        {
            private readonly LayerNorm ln;
            private readonly Linear fc;
            private readonly Linear proj;
            private readonly Dropout drop;

            public Block(GptConfig config) : base("Block")
            {
                ln = LayerNorm(config.n_embd);
                fc = Linear(config.n_embd, 4 * config.n_embd);
                proj = Linear(4 * config.n_embd, config.n_embd);
                drop = Dropout(config.dropout);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => x + drop.forward(proj.forward(functional.gelu(fc.forward(ln.forward(x)))));
        }

        public sealed class Gpt : Module<Tensor, Tensor>
        {
            private readonly GptConfig _config;
            private readonly Embedding wte;
            private readonly Block h0;
            private readonly Linear lm_head;

            public Gpt(GptConfig config) : base("Gpt")
            {
                _config = config;
                wte = Embedding(config.VocabSize, config.n_embd);
                h0 = new Block(config);
                lm_head = Linear(config.n_embd, config.VocabSize, hasBias: false);
                RegisterComponents();
            }

            public override Tensor forward(Tensor tokens)
            {
                var x = h0.forward(wte.forward(tokens));
                x = x.view(-1, _config.n_head, _config.HeadSize).flatten(1);
                return lm_head.forward(x);
            }
        }
        """;

    private static string GptSchema(params string[] arguments) => string.Join("\n", new[]
    {
        "model: Gpt",
        "version: 1",
        "inputs:",
        "  tokens:",
        "    categorical: [a, b, c, d, e]",
        "outputs:",
        "  logits:",
        "    features: [a, b, c, d, e]",
    }.Concat(arguments)) + "\n";

    [Fact]
    public void A_config_object_parameter_is_bound_from_a_nested_schema_mapping_with_member_defaults_for_the_rest()
    {
        var r = ModelSource.Read(GptConfig + Gpt, "Gpt", GptSchema("arguments:", "  config: { VocabSize: 5, n_embd: 8, n_head: 2 }"));
        var graph = ModelSource.Graph(r);

        Assert.Equal(
            new[]
            {
                "wte.weight [5, 8]",
                "h0.ln.weight [8]", "h0.ln.bias [8]",
                "h0.fc.weight [32, 8]", "h0.fc.bias [32]",
                "h0.proj.weight [8, 32]", "h0.proj.bias [8]",
                "lm_head.weight [5, 8]",
            },
            ModelSource.StateDict(graph));
        var ops = graph.Nodes.Select(n => ModelSource.Describe(n.Op)).ToList();
        Assert.Contains("dropout 0.1", ops); // the field initialiser
        Assert.Contains("reshape [-1, 2, 4]", ops); // HeadSize => n_embd / n_head, read in forward
    }

    [Fact]
    public void A_config_built_inline_by_a_chained_parameterless_constructor_binds_the_sizes()
    {
        var source = GptConfig + Gpt.Replace(
            "    public Gpt(GptConfig config)",
            "    public Gpt() : this(new GptConfig(VocabSize: 5) { n_embd = 6, n_head = 3 })\n    {\n    }\n\n    public Gpt(GptConfig config)",
            System.StringComparison.Ordinal);
        var graph = ModelSource.Graph(ModelSource.Read(source, "Gpt", GptSchema()));

        Assert.Equal("wte.weight [5, 6]", ModelSource.StateDict(graph)[0]);
        Assert.Equal("lm_head.weight [5, 6]", ModelSource.StateDict(graph)[^1]);
        Assert.Contains("reshape [-1, 3, 2]", graph.Nodes.Select(n => ModelSource.Describe(n.Op)));
    }

    [Fact]
    public void A_class_config_with_a_constructor_body_is_run_when_built_inline()
    {
        var graph = ModelSource.Graph(ModelSource.Read(
            """
            public sealed class Options
            {
                public Options(int hidden)
                {
                    Hidden = hidden;
                    Outputs = 2;
                }

                public int Hidden { get; }

                public long Outputs;
            }

            public sealed class M : Module<Tensor, Tensor>
            {
                private readonly Linear fc1;
                private readonly Linear fc2;

                public M() : this(new Options(3 * 2))
                {
                }

                public M(Options options) : base("M")
                {
                    fc1 = Linear(4, options.Hidden);
                    fc2 = Linear(options.Hidden, options.Outputs);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => fc2.forward(fc1.forward(x));
            }
            """,
            "M",
            X4));

        Assert.Equal(new[] { "fc1.weight [6, 4]", "fc1.bias [6]", "fc2.weight [2, 6]", "fc2.bias [2]" }, ModelSource.StateDict(graph));
    }

    [Fact]
    public void A_config_member_with_no_value_names_the_yaml_that_would_bind_it()
    {
        var source = GptConfig.Replace("public int n_embd { get; init; } = 768;", "public int n_embd { get; init; }", System.StringComparison.Ordinal) + Gpt;
        var r = ModelSource.Read(source, "Gpt", GptSchema("arguments:", "  config: { VocabSize: 5 }"));

        Assert.Null(r.Graph);
        const string How = "it is member 'n_embd' of parameter 'config' of the Gpt constructor, which has no initialiser and no value in the schema: bind it with 'arguments: { config: { n_embd: ... } }' in model.features.yaml, give the member a constant initialiser, or use a constant";

        // Reported at each use: in the model's constructor and in the nested module's, where the config object reaches.
        Assert.Equal(
            new[]
            {
                "NS1003 (42,43): Argument 'embedding_dims' of 'Embedding' is 'config.n_embd'" + NotConstant + How,
                "NS1003 (22,24): Argument 'normalized_shape' of 'LayerNorm' is 'config.n_embd'" + NotConstant + How,
                "NS1003 (23,21): Argument 'inputSize' of 'Linear' is 'config.n_embd'" + NotConstant + How,
            },
            ModelSource.Diagnostics(r).Take(3).ToArray());
    }

    [Fact]
    public void A_config_parameter_the_schema_does_not_give_is_reported_where_it_enters_a_nested_module()
    {
        var r = ModelSource.Read(GptConfig + Gpt, "Gpt", GptSchema());

        Assert.Null(r.Graph);
        static string How(string member) =>
            $"it is member '{member}' of parameter 'config' of the Gpt constructor, which nothing binds: bind the parameter with 'arguments: {{ config: {{ {member}: ... }} }}' in model.features.yaml (members the mapping leaves out keep their initialisers), or use a constant";
        Assert.Equal(
            new[]
            {
                "NS1003 (42,25): Argument 'num_embeddings' of 'Embedding' is 'config.VocabSize'" + NotConstant + How("VocabSize"),
                "NS1003 (42,43): Argument 'embedding_dims' of 'Embedding' is 'config.n_embd'" + NotConstant + How("n_embd"),
                "NS1003 (43,24): Argument 'config' of 'Block' is 'config'" + NotConstant + How("n_embd"),
                "NS1003 (43,24): Argument 'config' of 'Block' is 'config'" + NotConstant + How("dropout"),
                "NS1003 (44,26): Argument 'inputSize' of 'Linear' is 'config.n_embd'" + NotConstant + How("n_embd"),
                "NS1003 (44,41): Argument 'outputSize' of 'Linear' is 'config.VocabSize'" + NotConstant + How("VocabSize"),
            },
            ModelSource.Diagnostics(r));
    }

    [Fact]
    public void Unknown_and_ill_typed_config_members_are_reported_in_the_schema()
    {
        var r = ModelSource.Read(GptConfig + Gpt, "Gpt", GptSchema("arguments:", "  config:", "    VocabSize: 5", "    n_embed: 8", "    n_head: four", "    HeadSize: 2"));

        Assert.Null(r.Graph);
        Assert.Equal(
            new[]
            {
                "NS1017 (12,5): Argument 'config.n_embed' in model.features.yaml names no settable member of 'GptConfig'; expected one of: VocabSize, BlockSize, n_embd, n_head, dropout",
                "NS1018 (13,13): Argument 'config.n_head' in model.features.yaml is the string 'four', but member 'n_head' of 'GptConfig' is of type 'int'; expected an unquoted integer from -2147483648 to 2147483647",
                "NS1017 (14,5): Argument 'config.HeadSize' in model.features.yaml names no settable member of 'GptConfig'; expected one of: VocabSize, BlockSize, n_embd, n_head, dropout",
            },
            ModelSource.Diagnostics(r));
    }

    [Fact]
    public void A_plain_value_for_a_config_parameter_is_NS1018()
    {
        var r = ModelSource.Read(GptConfig + Gpt, "Gpt", GptSchema("arguments:", "  config: 5"));

        Assert.Equal(
            new[] { "NS1018 (10,11): Argument 'config' in model.features.yaml is the integer 5, but parameter 'config' of the Gpt constructor is of type 'GptConfig'; expected a mapping of the members of 'GptConfig' to values" },
            ModelSource.Diagnostics(r));
    }
}

/// <summary>The generator reads the schema's arguments (it is the same reader the CLI uses).</summary>
public class SizeBindingGeneratorTests
{
    private const string Model = """
        using TorchSharp;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        namespace Game.Models;

        [NeuralSurgery.SurgeryModel("policy.v2.features.yaml")]
        public sealed partial class Policy : Module<Tensor, Tensor, Tensor>
        {
            private readonly TorchSharp.Modules.Linear encoder;
            private readonly TorchSharp.Modules.Embedding hero_embedding;
            private readonly TorchSharp.Modules.Linear head;

            public Policy(int hidden, int embed = 2) : base(nameof(Policy))
            {
                encoder = Linear(4, hidden);
                hero_embedding = Embedding(3, embed);
                head = Linear(hidden + embed, 2);
                RegisterComponents();
            }

            public override Tensor forward(Tensor hero, Tensor hero_id) =>
                head.forward(torch.cat([encoder.forward(hero), hero_embedding.call(hero_id)], -1));
        }
        """;

    [Fact]
    public void A_model_whose_size_the_schema_gives_is_generated_without_diagnostics()
    {
        var (driver, output, diagnostics) = Generator.GeneratorHarness.Run(
            Generator.GeneratorHarness.Compilation((Generator.GeneratorHarness.ModelPath, Model)),
            new Generator.InMemoryAdditionalText(Generator.GeneratorHarness.SchemaPath, Generator.GeneratorHarness.Schema + "\narguments:\n  hidden: 6\n"));

        Assert.Empty(diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error));
        Assert.Contains(driver.GetRunResult().Results.Single().GeneratedSources, s => s.SourceText.ToString().Contains("encoder", System.StringComparison.Ordinal));
    }

    [Fact]
    public void An_argument_naming_no_parameter_is_reported_in_the_yaml_file()
    {
        var (_, _, diagnostics) = Generator.GeneratorHarness.Run(
            Generator.GeneratorHarness.Compilation((Generator.GeneratorHarness.ModelPath, Model)),
            new Generator.InMemoryAdditionalText(Generator.GeneratorHarness.SchemaPath, Generator.GeneratorHarness.Schema + "\narguments:\n  hidden: 6\n  hiden: 6\n"));

        var d = Assert.Single(diagnostics, d => d.Id == "NS1017");
        Assert.Equal(
            "Argument 'hiden' in " + Generator.GeneratorHarness.SchemaPath + " names no parameter of the Policy constructor; expected one of: hidden, embed",
            d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        var span = d.Location.GetLineSpan();
        Assert.Equal(Generator.GeneratorHarness.SchemaPath, span.Path);
        Assert.Equal(16, span.StartLinePosition.Line + 1);
        Assert.Equal(3, span.StartLinePosition.Character + 1);
    }
}

/// <summary>The examples on the NS1003, NS1017 and NS1018 pages give the messages and locations the pages show.</summary>
public class SizeBindingDocumentationTests
{
    [Theory]
    [InlineData("NS1003")]
    [InlineData("NS1017")]
    [InlineData("NS1018")]
    public void The_example_on_the_page_gives_the_first_message_it_shows(string id)
    {
        var page = System.IO.File.ReadAllText(System.IO.Path.Combine(Root(), "docs", "diagnostics", id + ".md")).Replace("\r\n", "\n", System.StringComparison.Ordinal);
        var from = page.IndexOf("## Example", System.StringComparison.Ordinal);
        var example = page.Substring(from, page.IndexOf("## How to fix", from, System.StringComparison.Ordinal) - from);
        var code = Block(example, "csharp");
        var yaml = Block(example, "yaml") ?? """
            model: M
            version: 1
            inputs:
              x:
                features: [a, b, c, d]
            outputs:
              y:
                features: [p, q]
            """;
        var shown = Block(example, "text")!.Split('\n')[0];
        var className = System.Text.RegularExpressions.Regex.Match(code!, @"class (\w+)").Groups[1].Value;

        var r = ModelSource.Read(code!, className, yaml);

        var d = r.Diagnostics.First(d => d.Id == id);
        Assert.Equal(shown, "error " + id + ": " + d.Message);
        var at = System.Text.RegularExpressions.Regex.Match(example, @"\(line (\d+), column (\d+)\)");
        if (at.Success)
        {
            Assert.Equal((int.Parse(at.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), int.Parse(at.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)), (d.Location.Line, d.Location.Column));
        }
    }

    private static string? Block(string text, string language)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text, "```" + language + "\n(.*?)```", System.Text.RegularExpressions.RegexOptions.Singleline);
        return m.Success ? m.Groups[1].Value : null;
    }

    private static string Root()
    {
        for (var directory = new System.IO.DirectoryInfo(System.AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (System.IO.File.Exists(System.IO.Path.Combine(directory.FullName, "NeuralSurgery.sln")))
            {
                return directory.FullName;
            }
        }

        throw new System.InvalidOperationException("no NeuralSurgery.sln above " + System.AppContext.BaseDirectory);
    }
}
